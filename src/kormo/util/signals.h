// SIGTERM and SIGINT without asynchronous handlers.
//
// watch_stop_signals(), called first thing in main() while the process has one thread,
// blocks both signals in every thread (threads inherit the mask) and hands them to one
// watcher thread. No handler ever interrupts a computation: an interrupted GEMM or system
// call is not a risk that exists. What a signal does:
//  - outside any StopRequest it ends the process by that signal, as by default;
//  - inside a StopRequest the first one is recorded for the work to stop at a safe point
//    (training: after the step, with a checkpoint), and a second one ends the process.
// Signals ignored when the process started stay ignored (nohup, a script's background job).
// Without watch_stop_signals() (unit tests) signals keep their default actions.
#pragma once

namespace kormo {

void watch_stop_signals();

class StopRequest {
 public:
  StopRequest();
  ~StopRequest();
  StopRequest(const StopRequest&) = delete;
  StopRequest& operator=(const StopRequest&) = delete;
  // The signal received inside this scope (SIGTERM or SIGINT), or 0.
  int signal() const;
  // The work has answered the signal and finished cleanly (a server that drained its
  // requests): leaving the scope then lets the process go on to exit normally instead of
  // ending it by the signal.
  void handled() { handled_ = true; }
  // Ends the process by `sig` (exit status 128 + sig), as its default action would.
  [[noreturn]] static void end_by(int sig);

 private:
  bool handled_ = false;
};

// Child processes must not inherit the blocked signals: the calling thread unblocks them
// for the lifetime of this object (around popen, fork). Outside a StopRequest that is
// what the signals would do anyway: end the process.
class DefaultStopSignals {
 public:
  DefaultStopSignals();
  ~DefaultStopSignals();
  DefaultStopSignals(const DefaultStopSignals&) = delete;
  DefaultStopSignals& operator=(const DefaultStopSignals&) = delete;
};

}  // namespace kormo
