// The file-sink destination: Bundles as NDJSON lines in a directory.
//
// Each Deliver() appends one line (the compact Bundle JSON) to the current
// file and returns only once an fdatasync() that covers it has completed, so
// a Bundle reported delivered is on disk. Concurrent deliveries share syncs:
// one fdatasync covers every line written before it started (group commit),
// so the sink costs the disk far fewer syncs than Bundles. Files are named bundles-<UTC yyyymmddThhmmss>-<n>.ndjson
// and a new one is started when the current one would grow past
// `rotate_bytes`; a reader may take every file except the newest. The
// directory is created 0700 and the files 0600: they hold PHI in clear for the
// system that collects them.
#ifndef APPLIANCE_PIPELINE_FILE_SINK_H_
#define APPLIANCE_PIPELINE_FILE_SINK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "appliance/base/clock.h"
#include "appliance/pipeline/destination.h"

namespace appliance::pipeline {

struct FileSinkOptions {
  std::string dir;
  uint64_t rotate_bytes = 64ull << 20;
  // Tests only: runs before each fdatasync for a delivery, with the sync lock
  // held (to hold one sync while other deliveries queue behind it).
  std::function<void()> before_sync = nullptr;
};

class FileSink final : public Destination {
 public:
  // Creates the directory if needed. `clock` names the files; it must
  // outlive the sink.
  static absl::StatusOr<std::unique_ptr<FileSink>> Open(FileSinkOptions options,
                                                        const Clock* clock);
  ~FileSink() override;

  AttemptResult Deliver(uint64_t seq, std::string_view bundle) override;
  std::string name() const override { return "file:" + options_.dir; }

  // fdatasync() calls made for deliveries (fewer than deliveries when they
  // run concurrently).
  uint64_t syncs() const { return syncs_.load(); }

 private:
  FileSink(FileSinkOptions options, const Clock* clock)
      : options_(std::move(options)), clock_(clock) {}
  // Opens a new file. Requires mu_.
  absl::Status Rotate();

  // An open output file; closed when the last user lets go (a sync may
  // still run on it after a rotation).
  struct OpenFile {
    explicit OpenFile(int f) : fd(f) {}
    ~OpenFile();
    const int fd;
  };
  // Makes the bytes written up to `mark` durable (sharing syncs).
  absl::Status SyncUpTo(uint64_t mark);

  const FileSinkOptions options_;
  const Clock* const clock_;
  mutable std::mutex mu_;  // Writing and rotating.
  std::shared_ptr<OpenFile> file_;  // Guarded by mu_.
  uint64_t size_ = 0;      // Of the current file. Guarded by mu_.
  uint64_t files_ = 0;     // Guarded by mu_.
  bool rotate_next_ = false;  // A write failed. Guarded by mu_.
  // Bytes written in all files since the sink opened, and how many of them
  // are known durable. written_ guarded by mu_; synced_ by sync_mu_ (and
  // only grows).
  uint64_t written_ = 0;
  std::mutex sync_mu_;     // One fdatasync at a time; waiters then check.
  uint64_t synced_ = 0;
  std::atomic<uint64_t> syncs_{0};
};

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_FILE_SINK_H_
