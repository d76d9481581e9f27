#include "appliance/base/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace appliance {
namespace {

id_t ThreadId() { return static_cast<id_t>(syscall(SYS_gettid)); }

}  // namespace

bool LowerThisThreadPriority(int nice) {
  // On Linux, PRIO_PROCESS with a thread id changes that thread only.
  if (nice <= ThisThreadNice()) return true;
  return setpriority(PRIO_PROCESS, ThreadId(), nice) == 0;
}

int ThisThreadNice() {
  errno = 0;
  return getpriority(PRIO_PROCESS, ThreadId());
}

}  // namespace appliance
