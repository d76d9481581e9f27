// Scheduling priority of background threads.
//
// The ACK path (MLLP I/O threads and the store's writer) runs at normal
// priority; the pipeline stages behind it (mapping, delivery, retention) call
// LowerThisThreadPriority() when they start, so that under a burst the CPU
// goes to acknowledging messages first and the stages catch up afterwards
// (their work is queued durably, nothing is lost by waiting).
#ifndef APPLIANCE_BASE_THREAD_PRIORITY_H_
#define APPLIANCE_BASE_THREAD_PRIORITY_H_

namespace appliance {

// The nice value background threads use (Linux: per thread).
inline constexpr int kBackgroundNice = 10;

// Sets the calling thread's nice value to `nice` (only ever lowers priority;
// an unprivileged process cannot raise it again). Returns false when the
// system refused; the thread then keeps running at its priority.
bool LowerThisThreadPriority(int nice = kBackgroundNice);

// The calling thread's nice value.
int ThisThreadNice();

}  // namespace appliance

#endif  // APPLIANCE_BASE_THREAD_PRIORITY_H_
