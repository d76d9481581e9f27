#include "appliance/ops/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "absl/strings/match.h"
#include "appliance/ops/http_test_util.h"
#include "gtest/gtest.h"

namespace appliance::ops {
namespace {


class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions o = {}) {
    o.port = 0;
    std::map<std::string, HttpHandler> routes;
    routes["/hello"] = [](const HttpRequest& r) {
      HttpResponse resp;
      resp.body = "hi " + r.query;
      return resp;
    };
    routes["/public"] = [](const HttpRequest&) {
      HttpResponse resp;
      resp.body = "open";
      return resp;
    };
    auto s = HttpServer::Start(o, std::move(routes));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, GetAndHead) {
  StartServer();
  std::string r = Exchange(server_->port(),
                           "GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n"
                           "Connection: close\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_TRUE(absl::StrContains(r, "Content-Length: 6\r\n")) << r;
  EXPECT_TRUE(absl::EndsWith(r, "\r\n\r\nhi x=1")) << r;
  r = Exchange(server_->port(),
               "HEAD /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_TRUE(absl::EndsWith(r, "\r\n\r\n")) << r;
}

TEST_F(HttpServerTest, KeepAliveAndPipelining) {
  StartServer();
  const std::string one = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string r = Exchange(
      server_->port(),
      one + one + "GET /hello?last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  size_t count = 0;
  for (size_t p = 0; (p = r.find("HTTP/1.1 200 OK", p)) != std::string::npos;
       ++p) {
    ++count;
  }
  EXPECT_EQ(count, 3u) << r;
  EXPECT_TRUE(absl::EndsWith(r, "hi last")) << r;
  EXPECT_EQ(server_->stats().requests.load(), 3u);
}

TEST_F(HttpServerTest, ErrorAnswers) {
  StartServer();
  const uint16_t port = server_->port();
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port, "GET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
      "HTTP/1.1 404 "));
  const std::string post =
      Exchange(port, "POST /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(post, "HTTP/1.1 405 ")) << post;
  EXPECT_TRUE(absl::StrContains(post, "Allow: GET, HEAD")) << post;
  EXPECT_TRUE(absl::StartsWith(Exchange(port, "GET /hello HTTP/1.1\r\n\r\n"),
                               "HTTP/1.1 400 "));  // No Host.
  EXPECT_TRUE(absl::StartsWith(Exchange(port, "GARBAGE\r\n\r\n"),
                               "HTTP/1.1 400 "));
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port, "GET hello HTTP/1.1\r\nHost: a\r\n\r\n"), "HTTP/1.1 400 "));
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port, "GET /hello HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"),
      "HTTP/1.1 400 "));
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port,
               "GET /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"),
      "HTTP/1.1 413 "));
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port, "GET /hello HTTP/2.0\r\nHost: a\r\n\r\n"), "HTTP/1.1 505 "));
}

TEST_F(HttpServerTest, SizeLimits) {
  HttpServerOptions o;
  o.max_request_line = 64;
  o.max_header_bytes = 256;
  StartServer(o);
  EXPECT_TRUE(absl::StartsWith(
      Exchange(server_->port(),
               "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n"),
      "HTTP/1.1 414 "));
  EXPECT_TRUE(absl::StartsWith(
      Exchange(server_->port(), "GET /hello HTTP/1.1\r\nHost: a\r\nX: " +
                                    std::string(400, 'b') + "\r\n\r\n"),
      "HTTP/1.1 431 "));
}

TEST_F(HttpServerTest, ReadTimeoutClosesSilentConnection) {
  HttpServerOptions o;
  o.read_timeout = absl::Milliseconds(200);
  StartServer(o);
  const std::string r = Exchange(server_->port(), "GET /hel", 3000);
  EXPECT_EQ(r, "");
  EXPECT_EQ(server_->stats().timeouts.load(), 1u);
}

TEST_F(HttpServerTest, BearerToken) {
  HttpServerOptions o;
  o.bearer_token_sha256 = TokenSha256Hex("s3cret");
  o.public_paths = {"/public"};
  std::mutex refused_mu;
  std::vector<std::string> refused;  // "peer path"
  o.on_unauthorized = [&](const std::string& peer, const std::string& path) {
    std::lock_guard<std::mutex> lock(refused_mu);
    refused.push_back(peer + " " + path);
  };
  StartServer(o);
  const uint16_t port = server_->port();
  const std::string head = "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n";
  const std::string no = Exchange(port, head + "\r\n");
  EXPECT_TRUE(absl::StartsWith(no, "HTTP/1.1 401 ")) << no;
  EXPECT_TRUE(absl::StrContains(no, "WWW-Authenticate: Bearer"));
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port, head + "Authorization: Bearer wrong\r\n\r\n"),
      "HTTP/1.1 401 "));
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port, head + "Authorization: Bearer s3cret\r\n\r\n"),
      "HTTP/1.1 200 "));
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port,
               "GET /public HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
      "HTTP/1.1 200 "));
  // The two refusals were reported (hl7d audits them), nothing else.
  std::lock_guard<std::mutex> lock(refused_mu);
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(refused[0], "127.0.0.1:")) << refused[0];
  EXPECT_TRUE(absl::EndsWith(refused[0], " /hello")) << refused[0];
}

TEST(HttpServerStartTest, NonLoopbackNeedsTlsAndToken) {
  HttpServerOptions o;
  o.bind_address = "0.0.0.0";
  o.port = 0;
  auto s = HttpServer::Start(o, {});
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
}

TEST(HttpServerStartTest, ConnectionLimit) {
  HttpServerOptions o;
  o.port = 0;
  o.max_connections = 1;
  auto s = HttpServer::Start(o, {});
  ASSERT_TRUE(s.ok());
  // Hold one connection open; the next is closed at once.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((*s)->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  for (int i = 0; i < 100 && (*s)->stats().connections_active.load() < 1; ++i) {
    usleep(10000);
  }
  EXPECT_EQ(Exchange((*s)->port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), "");
  EXPECT_EQ((*s)->stats().connections_rejected.load(), 1u);
  close(fd);
}

TEST(HttpServerStartTest, TokenHash) {
  EXPECT_EQ(TokenSha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace appliance::ops
