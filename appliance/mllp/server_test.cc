#include "appliance/mllp/server.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "appliance/mllp/framer.h"
#include "appliance/mllp/server_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace appliance::mllp {
namespace {

using ::appliance::mllp::testing::RecordingHandler;
using ::appliance::mllp::testing::TestClient;
using ::appliance::mllp::testing::WaitFor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kMessage[] =
    "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240101120000||ORU^R01|MSG00001|P|2.5.1\r"
    "PID|1||12345^^^HOSP^MR||DOE^JANE\r";

ServerOptions TestOptions() {
  ServerOptions options;
  options.port = 0;
  options.io_threads = 2;
  options.read_idle_timeout = absl::Seconds(30);
  return options;
}

class ServerTest : public ::testing::Test {
 protected:
  explicit ServerTest(bool auto_respond = true) : handler_(auto_respond) {}

  // Starts a server on 127.0.0.1:0 with `options` and handler_.
  void Start(ServerOptions options = TestOptions()) {
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(options, &handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::unique_ptr<TestClient> Connect(const std::string& source = "") {
    absl::StatusOr<std::unique_ptr<TestClient>> client =
        TestClient::Connect(server_->port(), source);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  bool WaitForActive(uint64_t n) {
    return WaitFor([&] { return server_->stats().connections_active == n; });
  }

  // Declared first: outlives the server, as the contract requires.
  RecordingHandler handler_;
  std::unique_ptr<Server> server_;
};

class ManualServerTest : public ServerTest {
 protected:
  ManualServerTest() : ServerTest(/*auto_respond=*/false) {}
};

TEST_F(ServerTest, RoundTripAndPeerInfo) {
  Start();
  EXPECT_NE(server_->port(), 0);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendFrame(kMessage));
  EXPECT_THAT(client->ReadFrame(), Optional(absl::StrCat("ACK:", kMessage)));

  ASSERT_EQ(handler_.size(), 1u);
  const RecordingHandler::Call call = handler_.call(0);
  EXPECT_EQ(call.payload, kMessage);
  EXPECT_FALSE(call.oversized);
  EXPECT_EQ(call.peer.connection_id, 1u);
  EXPECT_EQ(call.peer.address, "127.0.0.1");
  EXPECT_NE(call.peer.port, 0);
  EXPECT_FALSE(call.peer.tls);
  EXPECT_EQ(call.peer.tls_subject, "");

  // Counted when the write completes, which may be after the client read it.
  EXPECT_TRUE(WaitFor([&] { return server_->stats().responses_sent == 1; }));
  const ServerStats stats = server_->stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.connections_active, 1u);
  EXPECT_EQ(stats.frames_received, 1u);
}

TEST_F(ServerTest, PortZeroReportsTheBoundPort) {
  Start();
  const uint16_t port = server_->port();
  ASSERT_NE(port, 0);
  // Binding the same port again fails: it really is ours.
  ServerOptions options = TestOptions();
  options.port = port;
  RecordingHandler other(true);
  absl::StatusOr<std::unique_ptr<Server>> second =
      Server::Start(options, &other);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr(absl::StrCat("127.0.0.1:", port)));
}

TEST_F(ServerTest, FrameSplitAcrossManyWrites) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const std::string frame = EncodeFrame(kMessage);
  for (size_t i = 0; i < frame.size(); i += 3) {
    ASSERT_TRUE(client->Send(frame.substr(i, 3)));
    if (i % 30 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_THAT(client->ReadFrame(), Optional(absl::StrCat("ACK:", kMessage)));
  EXPECT_EQ(handler_.payloads(), std::vector<std::string>{kMessage});
}

TEST_F(ManualServerTest, PipelinedFramesAnsweredInArrivalOrder) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  std::string burst;
  for (int i = 0; i < 5; ++i) AppendFrame(absl::StrCat("m", i), &burst);
  ASSERT_TRUE(client->Send(burst));
  ASSERT_TRUE(handler_.WaitForCalls(5));

  // Answer in reverse order, from another thread, with pauses so the
  // responses really complete out of order.
  std::thread responder([&] {
    for (int i = 4; i >= 0; --i) {
      RecordingHandler::Call call = handler_.call(i);
      call.respond(Response{absl::StrCat("ack-", call.payload)});
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    std::optional<std::string> frame = client->ReadFrame();
    ASSERT_TRUE(frame.has_value());
    got.push_back(*frame);
  }
  responder.join();
  EXPECT_THAT(got,
              ElementsAre("ack-m0", "ack-m1", "ack-m2", "ack-m3", "ack-m4"));
  EXPECT_TRUE(WaitFor([&] { return server_->stats().responses_sent == 5; }));
}

TEST_F(ServerTest, JunkBeforeStartBlockIsSkippedAndCounted) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  // 7 bytes of junk, then filler (CR LF: not counted), then a frame.
  ASSERT_TRUE(client->Send("garbage\r\n" + EncodeFrame("hello")));
  EXPECT_THAT(client->ReadFrame(), Optional(std::string("ACK:hello")));
  EXPECT_EQ(server_->stats().bytes_skipped, 7u);
  // A restarted frame's partial bytes are counted separately.
  ASSERT_TRUE(client->Send("\x0bpartial" + EncodeFrame("again")));
  EXPECT_THAT(client->ReadFrame(), Optional(std::string("ACK:again")));
  EXPECT_EQ(server_->stats().bytes_discarded, 8u);
  EXPECT_EQ(handler_.payloads(), (std::vector<std::string>{"hello", "again"}));
}

TEST_F(ServerTest, OversizedFrameGetsResponseThenClose) {
  ServerOptions options = TestOptions();
  options.max_frame_size = 100;
  Start(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendFrame("small"));
  EXPECT_THAT(client->ReadFrame(), Optional(std::string("ACK:small")));

  const std::string big = std::string(kMessage) + std::string(200, 'x');
  ASSERT_TRUE(client->SendFrame(big));
  EXPECT_THAT(client->ReadFrame(),
              Optional(absl::StrCat("AR:", big.substr(0, 16))));
  EXPECT_TRUE(client->WaitForClose());
  client.reset();  // Ends the server's lingering close at once.

  ASSERT_EQ(handler_.size(), 2u);
  const RecordingHandler::Call call = handler_.call(1);
  EXPECT_TRUE(call.oversized);
  EXPECT_EQ(call.payload, big.substr(0, 100));  // Prefix capped at the limit.
  EXPECT_EQ(server_->stats().frames_oversized, 1u);
  EXPECT_TRUE(WaitForActive(0));
}

TEST_F(ServerTest, OversizedResponseSurvivesAClientStillSending) {
  ServerOptions options = TestOptions();
  options.max_frame_size = 1024;
  Start(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  // 4 MiB: more than the socket buffers hold, so the server must keep
  // draining input after its response for the client to finish sending and
  // then read the response (the lingering close).
  const std::string huge =
      std::string(kMessage) + std::string(4 << 20, 'y') + "\x1c\r";
  ASSERT_TRUE(client->Send("\x0b" + huge));
  EXPECT_THAT(client->ReadFrame(), Optional(HasSubstr("AR:MSH|")));
  EXPECT_TRUE(client->WaitForClose());
  EXPECT_EQ(server_->stats().frames_oversized, 1u);
}

TEST_F(ServerTest, IdleConnectionIsClosed) {
  ServerOptions options = TestOptions();
  options.read_idle_timeout = absl::Milliseconds(200);
  Start(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  const absl::Time start = absl::Now();
  EXPECT_TRUE(client->WaitForClose(absl::Seconds(5)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
  EXPECT_EQ(server_->stats().idle_timeouts, 1u);
  client.reset();
  EXPECT_TRUE(WaitForActive(0));
}

TEST_F(ManualServerTest, IdleTimeoutWaitsWhileAResponseIsOwed) {
  ServerOptions options = TestOptions();
  options.read_idle_timeout = absl::Milliseconds(200);
  Start(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendFrame("slow to answer"));
  ASSERT_TRUE(handler_.WaitForCalls(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  handler_.call(0).respond(Response{"late ack"});
  EXPECT_THAT(client->ReadFrame(), Optional(std::string("late ack")));
  EXPECT_EQ(server_->stats().idle_timeouts, 0u);
  // Idle from then on.
  EXPECT_TRUE(client->WaitForClose());
  EXPECT_EQ(server_->stats().idle_timeouts, 1u);
}

TEST_F(ServerTest, SlowSenderIsClosed) {
  ServerOptions options = TestOptions();
  options.min_bytes_per_second = 1000;
  options.slow_sender_window = absl::Milliseconds(200);
  Start(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send("\x0bMSH|"));
  // ~20 bytes/s, far below 1000: closed after one window.
  const absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Seconds(3) &&
         server_->stats().slow_sender_closes == 0) {
    if (!client->Send("x")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(client->WaitForClose());
  EXPECT_EQ(server_->stats().slow_sender_closes, 1u);
  EXPECT_EQ(server_->stats().frames_received, 0u);
  EXPECT_EQ(server_->stats().idle_timeouts, 0u);
}

TEST_F(ServerTest, SteadySenderAboveTheRateIsNotClosed) {
  ServerOptions options = TestOptions();
  options.min_bytes_per_second = 100;
  options.slow_sender_window = absl::Milliseconds(500);  // 50 bytes each.
  Start(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  // 50 bytes every 20 ms (~2500 B/s) for ~600 ms, all inside one frame.
  ASSERT_TRUE(client->Send("\x0b"));
  std::string payload;
  for (int i = 0; i < 30; ++i) {
    const std::string chunk(50, static_cast<char>('a' + i % 26));
    payload += chunk;
    ASSERT_TRUE(client->Send(chunk));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(client->Send("\x1c\r"));
  EXPECT_THAT(client->ReadFrame(), Optional(absl::StrCat("ACK:", payload)));
  EXPECT_EQ(server_->stats().slow_sender_closes, 0u);
}

TEST_F(ManualServerTest, PeerNotReadingResponsesIsClosed) {
  ServerOptions options = TestOptions();
  options.read_idle_timeout = absl::Milliseconds(300);
  Start(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  std::string burst;
  for (int i = 0; i < 4; ++i) AppendFrame(absl::StrCat("m", i), &burst);
  ASSERT_TRUE(client->Send(burst));
  ASSERT_TRUE(handler_.WaitForCalls(4));
  // 32 MiB of responses the client never reads: more than the socket
  // buffers take, so the server's write stalls.
  for (int i = 0; i < 4; ++i) {
    handler_.call(i).respond(Response{std::string(8 << 20, 'r')});
  }
  EXPECT_TRUE(WaitForActive(0));
  EXPECT_EQ(server_->stats().idle_timeouts, 1u);
}

TEST_F(ServerTest, MaxConnectionsInTotal) {
  ServerOptions options = TestOptions();
  options.max_connections = 2;
  Start(options);
  auto c1 = Connect();
  auto c2 = Connect();
  ASSERT_NE(c1, nullptr);
  ASSERT_NE(c2, nullptr);
  ASSERT_TRUE(c1->SendFrame("one"));
  ASSERT_TRUE(c2->SendFrame("two"));
  EXPECT_THAT(c1->ReadFrame(), Optional(std::string("ACK:one")));
  EXPECT_THAT(c2->ReadFrame(), Optional(std::string("ACK:two")));

  auto c3 = Connect();  // TCP accepts it; the server closes it at once.
  ASSERT_NE(c3, nullptr);
  EXPECT_TRUE(c3->WaitForClose());
  EXPECT_EQ(server_->stats().connections_rejected_limit, 1u);
  EXPECT_EQ(server_->stats().connections_accepted, 2u);

  c1.reset();
  ASSERT_TRUE(WaitForActive(1));
  auto c4 = Connect();
  ASSERT_NE(c4, nullptr);
  ASSERT_TRUE(c4->SendFrame("four"));
  EXPECT_THAT(c4->ReadFrame(), Optional(std::string("ACK:four")));
}

TEST_F(ServerTest, MaxConnectionsPerAddress) {
  ServerOptions options = TestOptions();
  options.max_connections_per_address = 1;
  Start(options);
  auto c1 = Connect("127.0.0.1");
  ASSERT_NE(c1, nullptr);
  ASSERT_TRUE(c1->SendFrame("one"));
  EXPECT_THAT(c1->ReadFrame(), Optional(std::string("ACK:one")));

  auto c2 = Connect("127.0.0.1");
  ASSERT_NE(c2, nullptr);
  EXPECT_TRUE(c2->WaitForClose());
  EXPECT_EQ(server_->stats().connections_rejected_limit, 1u);

  // Another source address has its own quota.
  auto c3 = Connect("127.0.0.2");
  ASSERT_NE(c3, nullptr);
  ASSERT_TRUE(c3->SendFrame("three"));
  EXPECT_THAT(c3->ReadFrame(), Optional(std::string("ACK:three")));
  EXPECT_EQ(handler_.call(1).peer.address, "127.0.0.2");
}

TEST_F(ManualServerTest, BackpressureLimitsUnansweredFrames) {
  ServerOptions options = TestOptions();
  options.max_unanswered_frames = 2;
  Start(options);
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  std::string burst;
  for (int i = 0; i < 5; ++i) AppendFrame(absl::StrCat("m", i), &burst);
  ASSERT_TRUE(client->Send(burst));
  ASSERT_TRUE(handler_.WaitForCalls(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(handler_.size(), 2u);

  handler_.call(0).respond(Response{"a0"});
  ASSERT_TRUE(handler_.WaitForCalls(3));
  EXPECT_THAT(client->ReadFrame(), Optional(std::string("a0")));
  for (int i = 1; i < 5; ++i) {
    ASSERT_TRUE(handler_.WaitForCalls(i + 1));
    handler_.call(i).respond(Response{absl::StrCat("a", i)});
  }
  for (int i = 1; i < 5; ++i) {
    EXPECT_THAT(client->ReadFrame(), Optional(absl::StrCat("a", i)));
  }
  EXPECT_THAT(handler_.payloads(), ElementsAre("m0", "m1", "m2", "m3", "m4"));
}

TEST_F(ManualServerTest, CloseAfterAndEmptyResponses) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  std::string burst;
  for (int i = 0; i < 4; ++i) AppendFrame(absl::StrCat("m", i), &burst);
  ASSERT_TRUE(client->Send(burst));
  ASSERT_TRUE(handler_.WaitForCalls(4));
  handler_.call(3).respond(Response{"never sent"});
  handler_.call(1).respond(Response{"r1", /*close_after=*/true});
  handler_.call(0).respond(Response{""});  // Nothing for m0.
  EXPECT_THAT(client->ReadFrame(), Optional(std::string("r1")));
  EXPECT_TRUE(client->WaitForClose());
  client.reset();
  handler_.call(2).respond(Response{"too late"});  // Harmless.
  EXPECT_TRUE(WaitForActive(0));
  EXPECT_EQ(server_->stats().responses_sent, 1u);
}

TEST_F(ServerTest, PeerHalfCloseStillGetsResponses) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Send(EncodeFrame("a") + EncodeFrame("b")));
  client->ShutdownWrite();
  EXPECT_THAT(client->ReadFrame(), Optional(std::string("ACK:a")));
  EXPECT_THAT(client->ReadFrame(), Optional(std::string("ACK:b")));
  EXPECT_TRUE(client->WaitForClose());
  client.reset();
  EXPECT_TRUE(WaitForActive(0));
}

TEST_F(ManualServerTest, ResponderAfterDisconnectIsHarmless) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(
      client->Send(EncodeFrame("a") + EncodeFrame("b") + EncodeFrame("c")));
  ASSERT_TRUE(handler_.WaitForCalls(3));
  client.reset();
  // The server cannot tell a full close from a half-close, so it tries to
  // answer; writing to the closed peer fails and closes the connection.
  handler_.call(0).respond(Response{"nobody listens"});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  handler_.call(1).respond(Response{"nobody listens"});
  ASSERT_TRUE(WaitForActive(0));
  server_.reset();
  // And after the server itself is gone.
  handler_.call(2).respond(Response{"nobody at all"});
}

TEST_F(ManualServerTest, ResponderDroppedUncalledClosesTheConnection) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendFrame("a"));
  ASSERT_TRUE(handler_.WaitForCalls(1));
  // Destroy every copy of the responder without calling it.
  handler_.Clear();
  EXPECT_TRUE(client->WaitForClose());
  EXPECT_EQ(server_->stats().responders_dropped, 1u);
}

TEST_F(ManualServerTest, ShutdownDrainsAFrameInFlight) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendFrame("in flight"));
  ASSERT_TRUE(handler_.WaitForCalls(1));
  std::thread responder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    handler_.call(0).respond(Response{"drained ack"});
  });
  absl::Duration shutdown_took;
  std::thread shutdown([&] {
    const absl::Time start = absl::Now();
    server_->Shutdown(absl::Seconds(10));
    shutdown_took = absl::Now() - start;
  });
  EXPECT_THAT(client->ReadFrame(), Optional(std::string("drained ack")));
  EXPECT_TRUE(client->WaitForClose());
  client.reset();
  shutdown.join();
  responder.join();
  EXPECT_LT(shutdown_took, absl::Seconds(5));
  EXPECT_EQ(server_->stats().responses_sent, 1u);
  EXPECT_EQ(server_->stats().connections_active, 0u);
  // New connections are refused once shut down.
  EXPECT_FALSE(TestClient::Connect(server_->port()).ok());
}

TEST_F(ManualServerTest, ShutdownGiveUpAfterGrace) {
  Start();
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->SendFrame("never answered"));
  ASSERT_TRUE(handler_.WaitForCalls(1));
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Milliseconds(200));
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(150));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_TRUE(client->WaitForClose());
  handler_.call(0).respond(Response{"too late"});  // Harmless.
  server_->Shutdown(absl::Seconds(1));             // Idempotent.
}

TEST_F(ServerTest, ManyConcurrentClients) {
  ServerOptions options = TestOptions();
  options.io_threads = 3;
  Start(options);
  constexpr int kClients = 8;
  constexpr int kMessages = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = TestClient::Connect(server_->port());
      if (!client.ok()) return;
      std::string burst;
      for (int m = 0; m < kMessages; ++m) {
        AppendFrame(absl::StrCat("c", c, "m", m), &burst);
      }
      if (!(*client)->Send(burst)) return;
      for (int m = 0; m < kMessages; ++m) {
        if ((*client)->ReadFrame() != absl::StrCat("ACK:c", c, "m", m)) return;
      }
      ok.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients);
  EXPECT_EQ(server_->stats().frames_received,
            static_cast<uint64_t>(kClients * kMessages));
}

TEST(ServerStartTest, RefusesNonLoopbackWithoutTls) {
  RecordingHandler handler(true);
  for (const char* address : {"0.0.0.0", "10.1.2.3", "::", "192.168.0.1"}) {
    ServerOptions options = TestOptions();
    options.bind_address = address;
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(options, &handler);
    ASSERT_FALSE(server.ok()) << address;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(server.status().message()), HasSubstr("TLS"));
  }
}

TEST(ServerStartTest, BindsLocalhost) {
  RecordingHandler handler(true);
  ServerOptions options = TestOptions();
  options.bind_address = "localhost";
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(options, &handler);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = TestClient::Connect((*server)->port());
  ASSERT_TRUE(client.ok()) << client.status();
}

TEST(ServerStartTest, InvalidOptions) {
  RecordingHandler handler(true);
  ServerOptions options = TestOptions();
  options.io_threads = 0;
  EXPECT_EQ(Server::Start(options, &handler).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = TestOptions();
  options.bind_address = "not an address";
  EXPECT_EQ(Server::Start(options, &handler).status().code(),
            absl::StatusCode::kFailedPrecondition);  // Not loopback.
  options.tls = TlsOptions{};
  EXPECT_EQ(Server::Start(options, &handler).status().code(),
            absl::StatusCode::kInvalidArgument);  // cert_file missing.
  EXPECT_EQ(Server::Start(TestOptions(), nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IsLoopbackAddressTest, Classifies) {
  for (const char* yes : {"127.0.0.1", "127.1.2.3", "::1", "localhost",
                          "LocalHost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackAddress(yes)) << yes;
  }
  for (const char* no : {"0.0.0.0", "10.0.0.1", "::", "128.0.0.1", "",
                         "example.org", "::ffff:10.0.0.1", "fe80::1"}) {
    EXPECT_FALSE(IsLoopbackAddress(no)) << no;
  }
}

}  // namespace
}  // namespace appliance::mllp
