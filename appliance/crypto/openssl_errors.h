// The thread's OpenSSL error queue as text, for the TLS servers' messages.
#ifndef APPLIANCE_CRYPTO_OPENSSL_ERRORS_H_
#define APPLIANCE_CRYPTO_OPENSSL_ERRORS_H_

#include <string>

namespace appliance::crypto {

// Drains this thread's OpenSSL error queue into one line ("...; ...");
// "unknown OpenSSL error" when it is empty.
std::string OpenSslErrors();

}  // namespace appliance::crypto

#endif  // APPLIANCE_CRYPTO_OPENSSL_ERRORS_H_
