#include "kormo/util/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <exception>
#include <thread>

namespace kormo {
namespace {

sigset_t g_watched;                // the signals the watcher takes (empty: not watching)
std::atomic<int> g_scopes{0};      // live StopRequests
std::atomic<int> g_recorded{0};    // the signal received inside one, or 0

void watcher() {
  for (;;) {
    int sig = 0;
    if (::sigwait(&g_watched, &sig) != 0) continue;
    int expected = 0;
    if (g_scopes.load() > 0 && g_recorded.compare_exchange_strong(expected, sig)) continue;
    StopRequest::end_by(sig);
  }
}

}  // namespace

void watch_stop_signals() {
  sigemptyset(&g_watched);
  for (int sig : {SIGTERM, SIGINT}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler != SIG_IGN) sigaddset(&g_watched, sig);
  }
  if (sigisemptyset(&g_watched)) return;
  ::pthread_sigmask(SIG_BLOCK, &g_watched, nullptr);
  std::thread(watcher).detach();
}

StopRequest::StopRequest() {
  if (g_scopes.fetch_add(1) == 0) g_recorded.store(0);
}

StopRequest::~StopRequest() {
  g_scopes.fetch_sub(1);
  // A signal that came after the work's last check is not lost: the work is saved, and
  // the process still ends the way the sender asked.
  if (const int sig = g_recorded.load(); sig != 0 && !handled_ && std::uncaught_exceptions() == 0) end_by(sig);
}

int StopRequest::signal() const { return g_recorded.load(); }

void StopRequest::end_by(int sig) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);  // to this thread, unblocked, default action: the process ends by sig
  ::_exit(128 + sig);
}

DefaultStopSignals::DefaultStopSignals() { ::pthread_sigmask(SIG_UNBLOCK, &g_watched, nullptr); }
DefaultStopSignals::~DefaultStopSignals() { ::pthread_sigmask(SIG_BLOCK, &g_watched, nullptr); }

}  // namespace kormo
