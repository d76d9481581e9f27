// The file-sink destination: Bundles as NDJSON lines in a directory.
//
// Each Deliver() appends one line (the compact Bundle JSON) to the current
// file and fdatasync()s it before reporting success, so a Bundle reported
// delivered is on disk. Files are named bundles-<UTC yyyymmddThhmmss>-<n>.ndjson
// and a new one is started when the current one would grow past
// `rotate_bytes`; a reader may take every file except the newest. The
// directory is created 0700 and the files 0600: they hold PHI in clear for the
// system that collects them.
#ifndef APPLIANCE_PIPELINE_FILE_SINK_H_
#define APPLIANCE_PIPELINE_FILE_SINK_H_

#include <cstdint>
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

  // The file being written ("" before the first Deliver()).
  std::string current_file() const;

 private:
  FileSink(FileSinkOptions options, const Clock* clock)
      : options_(std::move(options)), clock_(clock) {}
  // Opens a new file. Requires mu_.
  absl::Status Rotate();

  const FileSinkOptions options_;
  const Clock* const clock_;
  mutable std::mutex mu_;
  int fd_ = -1;            // Guarded by mu_.
  uint64_t size_ = 0;      // Guarded by mu_.
  uint64_t files_ = 0;     // Guarded by mu_.
  std::string path_;       // Guarded by mu_.
};

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_FILE_SINK_H_
