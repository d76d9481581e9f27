#include "appliance/pipeline/fhir_rest_destination.h"

#include <curl/curl.h>
#include <glog/logging.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace appliance::pipeline {
namespace {

using json = nlohmann::json;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::StatusOr<std::string> ReadSecret(const std::string& path,
                                       const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read the ", what, " file ", path, ": ", strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " file ", path, " is empty"));
  }
  if (s.find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " file ", path, " has more than one line"));
  }
  return s;
}

// What one request collects.
struct Exchange {
  std::string body;
  size_t max_body = 0;
  bool truncated = false;
  std::string retry_after;
};

absl::string_view AV(std::string_view s);

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const size_t len = size * n;
  const size_t room = x->max_body - std::min(x->max_body, x->body.size());
  x->body.append(data, std::min(len, room));
  if (len > room) x->truncated = true;
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() &&
      absl::EqualsIgnoreCase(AV(line.substr(0, kName.size())), AV(kName))) {
    x->retry_after =
        std::string(absl::StripAsciiWhitespace(AV(line.substr(kName.size()))));
  }
  return len;
}

// Debian's Abseil has its own string_view type.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool Is2xx(int status) { return status >= 200 && status < 300; }

// Status code at the start of "201 Created".
int EntryStatus(const json& entry) {
  const json* response = nullptr;
  if (entry.is_object()) {
    auto it = entry.find("response");
    if (it != entry.end() && it->is_object()) response = &*it;
  }
  if (response == nullptr) return 0;
  auto st = response->find("status");
  if (st == response->end() || !st->is_string()) return 0;
  const std::string& s = st->get_ref<const std::string&>();
  int code = 0;
  if (!absl::SimpleAtoi(s.substr(0, s.find(' ')), &code)) return 0;
  return code;
}

size_t CountEntries(std::string_view bundle) {
  json j = json::parse(bundle, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return 0;
  auto it = j.find("entry");
  return (it != j.end() && it->is_array()) ? it->size() : 0;
}

}  // namespace

std::optional<absl::Duration> ParseRetryAfter(std::string_view value,
                                              absl::Time now) {
  const absl::string_view v = absl::StripAsciiWhitespace(AV(value));
  int64_t seconds = 0;
  if (absl::SimpleAtoi(v, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(v),
                      absl::UTCTimeZone(), &t, &err)) {
    return std::max(absl::ZeroDuration(), t - now);
  }
  return std::nullopt;
}

AttemptResult ClassifyResponse(int http_status, std::string_view body,
                               size_t request_entries) {
  AttemptResult r;
  r.http_status = http_status;
  if (!Is2xx(http_status)) {
    r.outcome = std::string(body);
    if (http_status == 408 || http_status == 429 || http_status >= 500) {
      r.disposition = Disposition::kRetry;
      r.error = absl::StrCat("HTTP ", http_status);
    } else if (http_status == 401 || http_status == 403) {
      r.disposition = Disposition::kRetry;
      r.error = absl::StrCat("HTTP ", http_status,
                             ": the EHR refused the appliance's credentials");
    } else if (http_status >= 300 && http_status < 400) {
      r.disposition = Disposition::kRetry;
      r.error = absl::StrCat("HTTP ", http_status,
                             ": redirected; check the EHR base URL");
    } else if (http_status >= 400 && http_status < 500) {
      r.disposition = Disposition::kPermanent;
      r.error = absl::StrCat("HTTP ", http_status, ": the EHR refused the Bundle");
    } else {
      r.disposition = Disposition::kRetry;
      r.error = absl::StrCat("unexpected HTTP status ", http_status);
    }
    return r;
  }
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto str = [&](const char* key) -> std::string {
    if (!j.is_object()) return "";
    auto it = j.find(key);
    return (it != j.end() && it->is_string()) ? it->get<std::string>() : "";
  };
  if (!j.is_object() || str("resourceType") != "Bundle" ||
      str("type") != "transaction-response") {
    r.disposition = Disposition::kRetry;
    r.error = absl::StrCat("HTTP ", http_status,
                           " without a transaction-response Bundle");
    return r;
  }
  const json empty = json::array();
  auto it = j.find("entry");
  const json& entries = (it != j.end() && it->is_array()) ? *it : empty;
  if (entries.size() != request_entries) {
    r.disposition = Disposition::kRetry;
    r.error = absl::StrCat("transaction-response has ", entries.size(),
                           " entries for ", request_entries, " requests");
    return r;
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const int status = EntryStatus(entries[i]);
    if (!Is2xx(status)) {
      r.disposition = Disposition::kPermanent;
      r.error = absl::StrCat("transaction-response entry ", i, " has status ",
                             status == 0 ? std::string("none")
                                         : std::to_string(status));
      r.outcome = std::string(body);
      return r;
    }
  }
  r.disposition = Disposition::kDelivered;
  return r;
}

absl::StatusOr<std::unique_ptr<FhirRestDestination>>
FhirRestDestination::Create(FhirRestOptions options) {
  GlobalInit();
  const std::string& url = options.base_url;
  if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("EHR base URL ", url, ": expected http:// or https://"));
  }
  std::unique_ptr<FhirRestDestination> d(new FhirRestDestination(options));
  if (!options.bearer_token_file.empty()) {
    auto token = ReadSecret(options.bearer_token_file, "bearer token");
    if (!token.ok()) return token.status();
    d->authorization_ = absl::StrCat("Authorization: Bearer ", *token);
  }
  if (!options.basic_auth_file.empty()) {
    auto basic = ReadSecret(options.basic_auth_file, "basic auth");
    if (!basic.ok()) return basic.status();
    if (basic->find(':') == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the basic auth file ", options.basic_auth_file,
          " must hold user:password"));
    }
    d->basic_auth_ = *basic;
  }
  return d;
}

FhirRestDestination::FhirRestDestination(FhirRestOptions options)
    : options_(std::move(options)), base_url_(options_.base_url) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

FhirRestDestination::~FhirRestDestination() {
  for (void* h : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* FhirRestDestination::TakeHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_handles_.empty()) {
      void* h = idle_handles_.back();
      idle_handles_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void FhirRestDestination::ReturnHandle(void* curl) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_handles_.push_back(curl);
}

AttemptResult FhirRestDestination::Deliver(uint64_t seq, std::string_view bundle) {
  const absl::Time start = absl::Now();
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) {
    AttemptResult r;
    r.error = "cannot create an HTTP client handle";
    return r;
  }
  curl_easy_reset(curl);  // Keeps the connection cache.
  Exchange x;
  x.max_body = options_.max_body_bytes;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/fhir+json");
  headers = curl_slist_append(headers, "Accept: application/fhir+json");
  headers = curl_slist_append(headers, "Expect:");  // No 100-continue round trip.
  if (!authorization_.empty()) {
    headers = curl_slist_append(headers, authorization_.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, base_url_.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, bundle.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(bundle.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "hl7-appliance");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.request_timeout)));
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  if (!options_.client_cert_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.client_cert_file.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, options_.client_key_file.c_str());
  }
  if (!basic_auth_.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERPWD, basic_auth_.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);

  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  // Forget the secrets and the body pointer before the handle idles.
  curl_easy_setopt(curl, CURLOPT_USERPWD, nullptr);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
  ReturnHandle(curl);

  AttemptResult r;
  if (rc != CURLE_OK) {
    r.disposition = Disposition::kRetry;
    r.http_status = static_cast<int>(status);
    // curl's messages name hosts, ports and TLS problems, never the body.
    r.error = absl::StrCat(curl_easy_strerror(rc),
                           errbuf[0] != '\0' ? absl::StrCat(": ", errbuf) : "");
  } else {
    const size_t requests =
        Is2xx(static_cast<int>(status)) ? CountEntries(bundle) : 0;
    r = ClassifyResponse(static_cast<int>(status), x.body, requests);
    if (x.truncated && r.disposition == Disposition::kDelivered) {
      r.disposition = Disposition::kRetry;
      r.error = "transaction-response too large to check";
    }
  }
  if (!x.retry_after.empty()) {
    r.retry_after = ParseRetryAfter(x.retry_after, absl::Now());
  }
  r.latency = absl::Now() - start;
  VLOG(1) << "delivery of message " << seq << " to " << base_url_ << ": "
          << DispositionName(r.disposition) << " " << r.http_status << " "
          << r.error;
  return r;
}

}  // namespace appliance::pipeline
