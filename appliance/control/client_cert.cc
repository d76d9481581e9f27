#include "appliance/control/client_cert.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"

namespace appliance::control {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct CtxDeleter {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackDeleter {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};

std::unique_ptr<BIO, BioDeleter> MemBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioDeleter>(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate of a PEM text.
std::unique_ptr<STACK_OF(X509), StackDeleter> ReadAll(const std::string& pem) {
  std::unique_ptr<STACK_OF(X509), StackDeleter> out(sk_X509_new_null());
  auto bio = MemBio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(out.get(), x);
  }
  ERR_clear_error();  // The read that ended the loop.
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientCertVerifier>> ClientCertVerifier::Create(
    const std::string& ca_pem) {
  auto cas = ReadAll(ca_pem);
  if (sk_X509_num(cas.get()) == 0) {
    return absl::InvalidArgumentError("the control-plane CA file holds no certificate");
  }
  X509_STORE* store = X509_STORE_new();
  for (int i = 0; i < sk_X509_num(cas.get()); ++i) {
    X509_STORE_add_cert(store, sk_X509_value(cas.get(), i));
  }
  return std::unique_ptr<ClientCertVerifier>(new ClientCertVerifier(store));
}

ClientCertVerifier::~ClientCertVerifier() {
  X509_STORE_free(static_cast<X509_STORE*>(store_));
}

absl::Status ClientCertVerifier::Verify(const std::string& cert_pem,
                                        const std::string& chain_pem) const {
  auto bio = MemBio(cert_pem);
  std::unique_ptr<X509, X509Deleter> leaf(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (leaf == nullptr) {
    ERR_clear_error();
    return absl::UnauthenticatedError("the client certificate cannot be read");
  }
  auto untrusted = ReadAll(chain_pem);
  std::unique_ptr<X509_STORE_CTX, CtxDeleter> ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), static_cast<X509_STORE*>(store_), leaf.get(),
                          untrusted.get()) != 1) {
    return absl::InternalError("cannot set up certificate verification");
  }
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::UnauthenticatedError(absl::StrCat(
        "client certificate not trusted: ", X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

}  // namespace appliance::control
