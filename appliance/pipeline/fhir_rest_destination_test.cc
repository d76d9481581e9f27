#include "appliance/pipeline/fhir_rest_destination.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/base/test_util.h"
#include "gtest/gtest.h"

namespace appliance::pipeline {
namespace {

// A minimal HTTP/1.1 peer on 127.0.0.1 that answers each request with the
// next scripted reply (keep-alive), or closes the connection without an
// answer. It records what it received. The real EHR (tests/ehr) is used by
// the end-to-end tests; this one lets a unit test see the bytes.
class HttpPeer {
 public:
  struct Reply {
    int status = 200;
    std::string headers;  // Extra header lines, each ending "\r\n".
    std::string body;
    bool drop = false;    // Close without answering.
  };
  struct Request {
    std::string head;
    std::string body;
  };

  HttpPeer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listen_fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~HttpPeer() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    thread_.join();
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/fhir/R4/"); }
  void Push(Reply r) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(std::move(r));
  }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      connections_++;
      std::string buf;
      char chunk[65536];
      bool open = true;
      while (open) {
        size_t head_end;
        while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
          const ssize_t n = read(fd, chunk, sizeof(chunk));
          if (n <= 0) {
            open = false;
            break;
          }
          buf.append(chunk, static_cast<size_t>(n));
        }
        if (!open) break;
        Request req;
        req.head = buf.substr(0, head_end);
        size_t length = 0;
        const size_t cl = req.head.find("Content-Length: ");
        if (cl != std::string::npos) length = std::stoul(req.head.substr(cl + 16));
        buf.erase(0, head_end + 4);
        while (buf.size() < length) {
          const ssize_t n = read(fd, chunk, sizeof(chunk));
          if (n <= 0) break;
          buf.append(chunk, static_cast<size_t>(n));
        }
        req.body = buf.substr(0, length);
        buf.erase(0, length);
        Reply reply;
        {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(req);
          if (!replies_.empty()) {
            reply = replies_.front();
            replies_.pop_front();
          }
        }
        if (reply.drop) break;
        const std::string out = absl::StrCat(
            "HTTP/1.1 ", reply.status, " X\r\nContent-Type: application/fhir+json\r\n",
            reply.headers, "Content-Length: ", reply.body.size(), "\r\n\r\n", reply.body);
        if (write(fd, out.data(), out.size()) < 0) break;
      }
      close(fd);
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::deque<Reply> replies_;
  std::vector<Request> requests_;
  std::thread thread_;
};

constexpr char kBundle[] =
    R"({"resourceType":"Bundle","type":"transaction","entry":[)"
    R"({"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient/1"}},)"
    R"({"fullUrl":"urn:uuid:2","resource":{"resourceType":"Observation"},"request":{"method":"PUT","url":"Observation/2"}}]})";

std::string Response(const std::string& s1, const std::string& s2) {
  return absl::StrCat(
      R"({"resourceType":"Bundle","type":"transaction-response","entry":[)",
      R"({"response":{"status":")", s1, R"("}},{"response":{"status":")", s2,
      R"("}}]})");
}

std::unique_ptr<FhirRestDestination> Make(const HttpPeer& peer,
                                          FhirRestOptions o = {}) {
  o.base_url = peer.url();
  o.connect_timeout = absl::Seconds(2);
  o.request_timeout = absl::Seconds(2);
  auto d = FhirRestDestination::Create(o);
  EXPECT_TRUE(d.ok()) << d.status();
  return std::move(*d);
}

TEST(FhirRestDestinationTest, PostsTheTransactionAndChecksEveryEntry) {
  HttpPeer peer;
  peer.Push({200, "", Response("201 Created", "200 OK")});
  peer.Push({200, "", Response("201 Created", "200 OK")});
  auto d = Make(peer);
  EXPECT_EQ(d->name(), "fhir:" + peer.url().substr(0, peer.url().size() - 1));
  AttemptResult r = d->Deliver(1, kBundle);
  EXPECT_EQ(r.disposition, Disposition::kDelivered) << r.error;
  EXPECT_EQ(r.http_status, 200);
  r = d->Deliver(2, kBundle);
  EXPECT_EQ(r.disposition, Disposition::kDelivered) << r.error;
  const auto reqs = peer.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].head.substr(0, reqs[0].head.find("\r\n")), "POST /fhir/R4 HTTP/1.1");
  EXPECT_NE(reqs[0].head.find("Content-Type: application/fhir+json"), std::string::npos);
  EXPECT_NE(reqs[0].head.find("Accept: application/fhir+json"), std::string::npos);
  EXPECT_EQ(reqs[0].body, kBundle);
  EXPECT_EQ(peer.connections(), 1);  // Kept alive and reused.
}

TEST(FhirRestDestinationTest, ClassifiesFailures) {
  HttpPeer peer;
  auto d = Make(peer);
  peer.Push({503, "Retry-After: 7\r\n", R"({"resourceType":"OperationOutcome"})"});
  AttemptResult r = d->Deliver(1, kBundle);
  EXPECT_EQ(r.disposition, Disposition::kRetry);
  EXPECT_EQ(r.http_status, 503);
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_EQ(*r.retry_after, absl::Seconds(7));

  const std::string outcome =
      R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid"}]})";
  peer.Push({422, "", outcome});
  r = d->Deliver(1, kBundle);
  EXPECT_EQ(r.disposition, Disposition::kPermanent);
  EXPECT_EQ(r.error, "HTTP 422: the EHR refused the Bundle");
  EXPECT_EQ(r.outcome, outcome);

  peer.Push({200, "", Response("201 Created", "412 Precondition Failed")});
  r = d->Deliver(1, kBundle);
  EXPECT_EQ(r.disposition, Disposition::kPermanent);
  EXPECT_EQ(r.error, "transaction-response entry 1 has status 412");

  peer.Push({200, "", R"({"resourceType":"OperationOutcome"})"});
  EXPECT_EQ(d->Deliver(1, kBundle).disposition, Disposition::kRetry);

  peer.Push({401, "", ""});
  r = d->Deliver(1, kBundle);
  EXPECT_EQ(r.disposition, Disposition::kRetry);
  EXPECT_NE(r.error.find("credentials"), std::string::npos);

  // curl sends a request again once when a kept-alive connection turns out
  // closed; drop that one too.
  peer.Push({0, "", "", /*drop=*/true});
  peer.Push({0, "", "", /*drop=*/true});
  r = d->Deliver(1, kBundle);
  EXPECT_EQ(r.disposition, Disposition::kRetry);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_FALSE(r.error.empty());
}

TEST(FhirRestDestinationTest, ConnectionRefusedIsRetryable) {
  int port;
  {
    HttpPeer gone;  // Take a free port, then close it.
    port = std::stoi(gone.url().substr(17));
  }
  FhirRestOptions o;
  o.base_url = absl::StrCat("http://127.0.0.1:", port, "/fhir");
  auto d = FhirRestDestination::Create(o);
  ASSERT_TRUE(d.ok());
  AttemptResult r = (*d)->Deliver(1, kBundle);
  EXPECT_EQ(r.disposition, Disposition::kRetry);
  EXPECT_NE(r.error.find("connect"), std::string::npos) << r.error;
}

TEST(FhirRestDestinationTest, SendsCredentialsFromSecretFilesOnly) {
  const std::string dir = test_util::NewTempDir("secrets");
  std::ofstream(dir + "/token") << "s3cr3t-token\n";
  std::ofstream(dir + "/basic") << "appliance:pa55\n";
  HttpPeer peer;
  peer.Push({200, "", Response("200 OK", "200 OK")});
  peer.Push({200, "", Response("200 OK", "200 OK")});
  FhirRestOptions o;
  o.bearer_token_file = dir + "/token";
  EXPECT_EQ(Make(peer, o)->Deliver(1, kBundle).disposition, Disposition::kDelivered);
  o = {};
  o.basic_auth_file = dir + "/basic";
  EXPECT_EQ(Make(peer, o)->Deliver(1, kBundle).disposition, Disposition::kDelivered);
  const auto reqs = peer.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].head.find("Authorization: Bearer s3cr3t-token\r\n"), std::string::npos);
  // base64("appliance:pa55")
  EXPECT_NE(reqs[1].head.find("Authorization: Basic YXBwbGlhbmNlOnBhNTU="), std::string::npos);

  // Errors name the file, never its content.
  o = {};
  o.base_url = peer.url();
  o.bearer_token_file = dir + "/missing";
  auto bad = FhirRestDestination::Create(o);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.status().message()).find(dir + "/missing"), std::string::npos);
  std::ofstream(dir + "/nocolon") << "justuser\n";
  o.bearer_token_file.clear();
  o.basic_auth_file = dir + "/nocolon";
  bad = FhirRestDestination::Create(o);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(bad.status().message()).find("justuser"), std::string::npos);
}

TEST(FhirRestDestinationTest, ParsesRetryAfter) {
  const absl::Time now = absl::FromUnixSeconds(1767225600);  // 2026-01-01.
  EXPECT_EQ(ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_FALSE(ParseRetryAfter("-5", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
}

TEST(FhirRestDestinationTest, ClassifyResponseChecksTheEntryCount) {
  EXPECT_EQ(ClassifyResponse(200, Response("200 OK", "201 Created"), 2).disposition,
            Disposition::kDelivered);
  AttemptResult r = ClassifyResponse(200, Response("200 OK", "201 Created"), 3);
  EXPECT_EQ(r.disposition, Disposition::kRetry);
  EXPECT_EQ(r.error, "transaction-response has 2 entries for 3 requests");
  EXPECT_EQ(ClassifyResponse(429, "", 2).disposition, Disposition::kRetry);
  EXPECT_EQ(ClassifyResponse(408, "", 2).disposition, Disposition::kRetry);
  EXPECT_EQ(ClassifyResponse(404, "", 2).disposition, Disposition::kPermanent);
  EXPECT_EQ(ClassifyResponse(200, "not json", 2).disposition, Disposition::kRetry);
}

}  // namespace
}  // namespace appliance::pipeline
