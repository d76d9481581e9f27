#include "appliance/pipeline/file_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "appliance/base/file_io.h"

namespace appliance::pipeline {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileSink>> FileSink::Open(
    FileSinkOptions options, const Clock* clock) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("file sink: no directory");
  }
  if (::mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Errno(absl::StrCat("file sink: mkdir ", options.dir));
  }
  struct stat st;
  if (::stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("file sink: ", options.dir, " is not a directory"));
  }
  if (::access(options.dir.c_str(), W_OK) != 0) {
    return Errno(absl::StrCat("file sink: ", options.dir, " is not writable"));
  }
  return std::unique_ptr<FileSink>(new FileSink(std::move(options), clock));
}

FileSink::~FileSink() = default;

FileSink::OpenFile::~OpenFile() { ::close(fd); }

absl::Status FileSink::Rotate() {
  if (file_ != nullptr) {
    // Everything written to the old file becomes durable before the switch,
    // so a later sync of the new file covers every earlier byte.
    if (::fdatasync(file_->fd) != 0) return Errno("fdatasync");
    file_.reset();
  }
  const std::string stamp =
      absl::FormatTime("%Y%m%dT%H%M%S", absl::FromUnixMicros(clock_->NowMicros()),
                       absl::UTCTimeZone());
  // Several files may start within one second; the counter (and O_EXCL) keep
  // their names apart, also from files of an earlier run.
  for (int tries = 0; tries < 1000; ++tries) {
    const std::string path = absl::StrCat(options_.dir, "/bundles-", stamp,
                                          "-", ++files_, ".ndjson");
    const int fd = ::open(path.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      file_ = std::make_shared<OpenFile>(fd);
      size_ = 0;
      // Make the new name itself durable (a failure fails this delivery,
      // which is retried: its Bundle is not reported delivered).
      return FsyncDir(options_.dir);
    }
    if (errno != EEXIST) return Errno(absl::StrCat("open ", path));
  }
  return absl::InternalError("file sink: no free file name");
}

absl::Status FileSink::SyncUpTo(uint64_t mark) {
  std::lock_guard<std::mutex> sync_lock(sync_mu_);
  if (synced_ >= mark) return absl::OkStatus();  // A sync covered it.
  if (options_.before_sync) options_.before_sync();
  // Sync the current file: every byte written so far is in it or in an
  // earlier file that Rotate() already synced.
  std::shared_ptr<OpenFile> file;
  uint64_t target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    file = file_;
    target = written_;
  }
  if (file != nullptr) {  // Null only before the first line was written.
    if (::fdatasync(file->fd) != 0) return Errno("fdatasync");
    ++syncs_;
  }
  synced_ = std::max(synced_, target);
  return absl::OkStatus();
}

AttemptResult FileSink::Deliver(uint64_t /*seq*/, std::string_view bundle) {
  const absl::Time start = absl::Now();
  AttemptResult r;
  std::string line(bundle);
  line.push_back('\n');
  absl::Status s;
  uint64_t mark = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (file_ == nullptr || rotate_next_ ||
        (size_ > 0 && size_ + line.size() > options_.rotate_bytes)) {
      s = Rotate();
      if (s.ok()) rotate_next_ = false;
    }
    if (s.ok()) s = WriteAll(file_->fd, line, options_.dir);
    if (s.ok()) {
      size_ += line.size();
      written_ += line.size();
      mark = written_;
    } else if (file_ != nullptr) {
      // Cut off what may have been written of this line, so the file stays
      // valid NDJSON, and start a new file next time (Rotate() first syncs
      // this one: other deliveries may still wait for their lines in it).
      if (::ftruncate(file_->fd, static_cast<off_t>(size_)) != 0) {
        s = absl::Status(s.code(), absl::StrCat(s.message(), "; ftruncate: ",
                                                strerror(errno)));
      }
      rotate_next_ = true;
    }
  }
  if (s.ok()) s = SyncUpTo(mark);
  r.latency = absl::Now() - start;
  if (s.ok()) {
    r.disposition = Disposition::kDelivered;
  } else {
    r.disposition = Disposition::kRetry;
    r.error = absl::StrCat("file sink: ", s.message());
  }
  return r;
}

}  // namespace appliance::pipeline
