// Small durable-file helpers over POSIX descriptors (the key file, the file
// sink).
#ifndef APPLIANCE_BASE_FILE_IO_H_
#define APPLIANCE_BASE_FILE_IO_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace appliance {

// "<what> <path>: <strerror>", with the code absl maps `error` to.
absl::Status ErrnoError(int error, std::string_view what,
                        const std::string& path);

// Writes all of `data` to `fd`, retrying short writes and EINTR; `path`
// names the file in errors.
absl::Status WriteAll(int fd, std::string_view data, const std::string& path);

// fsync()s the directory `dir`, so that names created or renamed in it are
// durable.
absl::Status FsyncDir(const std::string& dir);

}  // namespace appliance

#endif  // APPLIANCE_BASE_FILE_IO_H_
