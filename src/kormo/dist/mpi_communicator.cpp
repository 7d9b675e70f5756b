// MPI communicator over non-blocking point-to-point messages.
//
// Why not MPI_Allreduce: MPI lets the library pick the reduction algorithm
// (and with it the association of the additions) by message size, process
// count and tuning, so its float sums are not promised to be order-fixed.
// Here every element has one owner rank that adds the ranks' contributions in
// rank order and sends the result to everyone (a reduce-scatter followed by an
// all-gather, both direct rank-to-rank): the order is fixed by construction
// and every rank ends with the owner's bits. The buffer is cut into rounds of
// size() * kBlockBytes bytes; each round's sub-range k is owned by rank k, and the
// exchange of round r+1 is in flight while round r is summed, so large
// buffers stream in bounded scratch memory instead of being gathered whole.
// ZeRO-1's reduce-scatter and all-gather are the two halves of the same
// exchange, with rank k owning its shard (shard_of) cut into rounds of
// kBlockBytes instead of a k-th of each round.
//
// Why point-to-point and polling: a blocking MPI call waits forever for a
// peer that died without the launcher noticing, or that is stopped. (Open
// MPI 4.1's mpirun does SIGTERM the survivors about 1 s after a rank dies of a
// signal, without a word from them; under `mpirun --enable-recovery`, another
// launcher, or with a SIGSTOPped rank, MPI_Allreduce blocked until killed.)
// Every wait here polls its requests, checks that peers on this host are still
// alive, and gives up after timeout_s() without progress.
#include "kormo/dist/mpi_communicator.h"

#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/ranges.h>

#include "kormo/util/error.h"

namespace kormo::dist {

namespace {

using Clock = std::chrono::steady_clock;

// Bytes each rank owns per round (the size of one message). Each message
// costs a rendezvous handshake, which waits for the peer to be scheduled when
// cores are oversubscribed (64 KiB messages ran 3x slower than 4 MiB on 2
// ranks sharing 2 busy cores); the scratch is 2 rounds x (size-1) messages.
constexpr int64_t kBlockBytes = int64_t{4} << 20;
// Broadcast payload per message (MPI counts are int).
constexpr size_t kBroadcastChunk = size_t{16} << 20;
constexpr int kTagReduce = 1, kTagGather = 2, kTagBroadcast = 3, kTagHello = 4;
// How often a waiting rank looks at its peers' processes.
constexpr auto kPeerCheckInterval = std::chrono::milliseconds(200);
// Waits shorter than this spin (with yields); longer ones sleep between polls.
constexpr auto kSpinTime = std::chrono::milliseconds(2);

std::atomic<bool> g_mpi_initialised{false};

// Identifies a process so a peer on the same host can tell whether it still
// runs: same boot and PID namespace make PIDs comparable, and the start time
// rules out a recycled PID.
struct ProcessId {
  char host_key[128] = {};
  int64_t pid = 0;
  uint64_t start_time = 0;
};

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

struct ProcState {
  bool exists = false;
  char state = '?';  // from /proc/<pid>/stat: R, S, T (stopped), Z (zombie), …
  uint64_t start_time = 0;
};

ProcState proc_state(int64_t pid) {
  ProcState s;
  std::string line = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = line.rfind(')');  // the command name may contain spaces and ')'
  if (paren == std::string::npos) return s;
  std::istringstream rest(line.substr(paren + 1));
  std::string field;
  // Fields after the name start at 3 (state); the start time is field 22.
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 3) s.state = field[0];
    if (i == 22) s.start_time = std::strtoull(field.c_str(), nullptr, 10);
  }
  s.exists = s.start_time != 0;
  return s;
}

ProcessId this_process() {
  ProcessId id;
  std::string boot = read_first_line("/proc/sys/kernel/random/boot_id");
  char ns[64] = {};
  ssize_t len = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  id.pid = getpid();
  id.start_time = proc_state(id.pid).start_time;
  if (!boot.empty() && len > 0 && id.start_time != 0) {
    std::string key = boot + "/" + std::string(ns, static_cast<size_t>(len));
    std::strncpy(id.host_key, key.c_str(), sizeof id.host_key - 1);
  }
  return id;
}

std::string mpi_error_string(int rc) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) return "MPI error code " + std::to_string(rc);
  return std::string(msg, static_cast<size_t>(len));
}

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>) {
    return MPI_FLOAT;
  } else if constexpr (std::is_same_v<T, double>) {
    return MPI_DOUBLE;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return MPI_INT64_T;
  } else {
    static_assert(std::is_same_v<T, std::byte>);
    return MPI_BYTE;
  }
}

// Integers add as unsigned so overflow wraps instead of being undefined.
template <class T>
struct Accumulator {
  using type = T;
};
template <>
struct Accumulator<int64_t> {
  using type = uint64_t;
};

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_s);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }
  double timeout_s() const override { return timeout_s_; }

 protected:
  void sum_f32(float* data, int64_t n) override { sum(data, n, "all_reduce_sum"); }
  void sum_f64(double* data, int64_t n) override { sum(data, n, "all_reduce_sum"); }
  void sum_i64(int64_t* data, int64_t n) override { sum(data, n, "all_reduce_sum"); }
  void do_reduce_scatter_f32(float* data, int64_t n) override {
    exchange(data, n, Owners::kShards, Halves::kReduce, "reduce_scatter_sum");
  }
  void do_all_gather_f32(float* data, int64_t n) override {
    exchange(data, n, Owners::kShards, Halves::kGather, "all_gather");
  }
  void do_broadcast(void* data, size_t bytes, int root) override;
  // A one-element sum is a barrier: its owner needs every rank's input and
  // every rank needs the owner's result.
  void do_barrier() override {
    int64_t zero = 0;
    sum(&zero, 1, "barrier");
  }

 private:
  // Pending requests of one step and the rank each one talks to.
  struct Requests {
    std::vector<MPI_Request> reqs;
    std::vector<int> peers;
  };

  // Who owns which elements: a k-th of every round (all-reduce), or rank k's
  // shard (ZeRO-1).
  enum class Owners { kRoundSplit, kShards };
  enum class Halves { kReduce = 1, kGather = 2, kBoth = 3 };
  template <class T>
  void sum(T* data, int64_t n, const char* op) {
    exchange(data, n, Owners::kRoundSplit, Halves::kBoth, op);
  }
  template <class T>
  void exchange(T* data, int64_t n, Owners owners, Halves halves, const char* op);
  template <class T>
  void post(Requests& r, bool send, T* buf, int64_t count, int peer, int tag);
  void wait(Requests& r);
  std::vector<int> pending_peers(const Requests& r) const;
  std::string ranks_phrase(const std::vector<int>& ranks) const;
  void check(int rc, const char* what);
  void check_usable();
  void check_peers_alive();
  [[noreturn]] void fail_broken(const std::string& msg);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  double timeout_s_ = 0;
  std::string op_ = "startup";     // the collective in progress, for messages
  std::vector<ProcessId> peers_;   // indexed by rank
  std::vector<int> same_host_;     // ranks whose process this rank can see
  std::vector<std::byte> scratch_;
  std::string broken_;             // the error that broke this communicator
};

MpiCommunicator::MpiCommunicator(double timeout_s) : timeout_s_(timeout_s) {
  int already = 0;
  MPI_Initialized(&already);
  if (already || g_mpi_initialised.exchange(true))
    fail("MPI is already initialised in this process: create one MPI communicator per process");
  int provided = 0;
  int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  if (rc != MPI_SUCCESS) fail("MPI_Init_thread failed: {}", mpi_error_string(rc));
  // Errors come back as codes (turned into kormo::Error), not as an abort.
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  if (provided < MPI_THREAD_FUNNELED) fail_broken("the MPI library does not support MPI_THREAD_FUNNELED");
  // A private communicator: kormo's messages never match anyone else's.
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");

  // Every rank learns every rank's process identity (all-to-all hello).
  peers_.resize(static_cast<size_t>(size_));
  peers_[static_cast<size_t>(rank_)] = this_process();
  Requests r;
  for (int k = 0; k < size_; ++k) {
    if (k == rank_) continue;
    post(r, false, reinterpret_cast<std::byte*>(&peers_[static_cast<size_t>(k)]), sizeof(ProcessId), k, kTagHello);
    post(r, true, reinterpret_cast<std::byte*>(&peers_[static_cast<size_t>(rank_)]), sizeof(ProcessId), k,
         kTagHello);
  }
  wait(r);
  const ProcessId& me = peers_[static_cast<size_t>(rank_)];
  for (int k = 0; k < size_; ++k)
    if (k != rank_ && me.host_key[0] && std::strncmp(me.host_key, peers_[static_cast<size_t>(k)].host_key,
                                                     sizeof me.host_key) == 0)
      same_host_.push_back(k);
  op_.clear();
}

MpiCommunicator::~MpiCommunicator() {
  // Finalizing waits for every rank; after a failure (ours or the caller's)
  // some rank may never get there, so the process exits without it and the
  // launcher ends the job.
  if (!broken_.empty() || std::uncaught_exceptions() > 0) return;
  MPI_Comm_free(&comm_);
  MPI_Finalize();
}

void MpiCommunicator::fail_broken(const std::string& msg) {
  broken_ = msg;
  throw Error(msg);
}

void MpiCommunicator::check(int rc, const char* what) {
  if (rc != MPI_SUCCESS)
    fail_broken(fmt::format("rank {} of {}: {} failed during {}: {}", rank_, size_, what, op_, mpi_error_string(rc)));
}

void MpiCommunicator::check_usable() {
  if (!broken_.empty()) throw Error("communicator unusable after an earlier error: " + broken_);
}

template <class T>
void MpiCommunicator::post(Requests& r, bool send, T* buf, int64_t count, int peer, int tag) {
  if (count == 0) return;  // both sides compute the same ranges, so both skip
  MPI_Request req;
  int n = static_cast<int>(count);
  MPI_Datatype type = mpi_type<T>();
  check(send ? MPI_Isend(buf, n, type, peer, tag, comm_, &req) : MPI_Irecv(buf, n, type, peer, tag, comm_, &req),
        send ? "MPI_Isend" : "MPI_Irecv");
  r.reqs.push_back(req);
  r.peers.push_back(peer);
}

void MpiCommunicator::check_peers_alive() {
  for (int k : same_host_) {
    const ProcessId& id = peers_[static_cast<size_t>(k)];
    ProcState s = proc_state(id.pid);
    if (!s.exists || s.start_time != id.start_time || s.state == 'Z' || s.state == 'X')
      fail_broken(fmt::format("rank {} of {} died or stopped responding: its process {} on this host is gone "
                              "(rank {} noticed during {})",
                              k, size_, id.pid, rank_, op_));
  }
}

void MpiCommunicator::wait(Requests& r) {
  if (r.reqs.empty()) return;
  std::vector<int> done(r.reqs.size());
  std::vector<MPI_Status> status(r.reqs.size());
  size_t remaining = r.reqs.size();
  auto last_progress = Clock::now(), next_peer_check = last_progress + kPeerCheckInterval;
  const auto timeout = std::chrono::duration<double>(timeout_s_);
  for (;;) {
    int count = 0;
    int rc = MPI_Testsome(static_cast<int>(r.reqs.size()), r.reqs.data(), &count, done.data(), status.data());
    if (rc != MPI_SUCCESS) {
      // A message to or from a dead peer can fail outright (e.g. a TCP reset).
      int code = rc;
      std::vector<int> culprits = pending_peers(r);
      if (rc == MPI_ERR_IN_STATUS)
        for (int i = 0; i < count; ++i)
          if (status[static_cast<size_t>(i)].MPI_ERROR != MPI_SUCCESS) {
            code = status[static_cast<size_t>(i)].MPI_ERROR;
            culprits = {r.peers[static_cast<size_t>(done[static_cast<size_t>(i)])]};
            break;
          }
      fail_broken(fmt::format("{} died or stopped responding: rank {}'s messages failed during {}: {}",
                              ranks_phrase(culprits), rank_, op_, mpi_error_string(code)));
    }
    if (count == MPI_UNDEFINED) break;
    auto now = Clock::now();
    if (count > 0) {
      remaining -= static_cast<size_t>(count);
      if (remaining == 0) break;
      last_progress = now;
      continue;
    }
    if (now >= next_peer_check) {
      check_peers_alive();
      next_peer_check = now + kPeerCheckInterval;
    }
    if (timeout_s_ > 0 && now - last_progress > timeout) {
      std::vector<int> waiting = pending_peers(r);
      std::string stopped;
      for (int k : waiting)
        if (std::find(same_host_.begin(), same_host_.end(), k) != same_host_.end()) {
          int64_t pid = peers_[static_cast<size_t>(k)].pid;
          char st = proc_state(pid).state;
          if (st == 'T' || st == 't') stopped += fmt::format("; rank {}'s process {} on this host is stopped", k, pid);
        }
      fail_broken(fmt::format("{} died or stopped responding: rank {} waited {} s in {} without progress{} "
                              "(the limit is KORMO_DIST_TIMEOUT_S)",
                              ranks_phrase(waiting), rank_, timeout_s_, op_, stopped));
    }
    if (now - last_progress < kSpinTime)
      sched_yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  r.reqs.clear();
  r.peers.clear();
}

std::vector<int> MpiCommunicator::pending_peers(const Requests& r) const {
  std::vector<int> ranks;
  for (size_t i = 0; i < r.reqs.size(); ++i)
    if (r.reqs[i] != MPI_REQUEST_NULL) ranks.push_back(r.peers[i]);
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  return ranks;
}

// "rank 1 of 2", "ranks 1, 3 of 4".
std::string MpiCommunicator::ranks_phrase(const std::vector<int>& ranks) const {
  return fmt::format("rank{} {} of {}", ranks.size() > 1 ? "s" : "", fmt::join(ranks, ", "), size_);
}

template <class T>
void MpiCommunicator::exchange(T* data, int64_t n, Owners owners, Halves halves, const char* op) {
  check_usable();
  op_ = op;
  const int p = size_, me = rank_;
  const int64_t block = std::max<int64_t>(1, kBlockBytes / static_cast<int64_t>(sizeof(T)));
  const int64_t round_len = block * p;
  const int64_t stride = owners == Owners::kShards ? shard_stride(n, p) : 0;
  const int64_t rounds = owners == Owners::kShards ? (stride + block - 1) / block : (n + round_len - 1) / round_len;
  // Rank k owns [part(r, k).first, part(r, k).second) of round r, at most `block` elements.
  auto part = [&](int64_t r, int k) -> std::pair<int64_t, int64_t> {
    if (owners == Owners::kShards) {
      const int64_t b = std::min(n, k * stride + r * block);
      return {b, std::min({n, k * stride + stride, b + block})};
    }
    const int64_t start = r * round_len, len = std::min(round_len, n - start);
    return {start + len * k / p, start + len * (k + 1) / p};
  };
  auto len = [&](int64_t r, int k) { return part(r, k).second - part(r, k).first; };
  // Scratch: two rounds (the one being summed, the one arriving) x (p - 1) peers.
  const size_t slot_elems = static_cast<size_t>(block) * static_cast<size_t>(p - 1);
  const bool reduce = halves != Halves::kGather, gather = halves != Halves::kReduce;
  if (reduce && scratch_.size() < 2 * slot_elems * sizeof(T)) scratch_.resize(2 * slot_elems * sizeof(T));
  T* scratch = reinterpret_cast<T*>(scratch_.data());
  auto peer_slot = [&](int64_t r, int k) {
    return scratch + static_cast<size_t>(r % 2) * slot_elems + static_cast<size_t>(k < me ? k : k - 1) * block;
  };

  Requests exchange[2], gather_reqs[2];
  // Round r, reduce-scatter half: send each owner its sub-range, receive ours.
  auto post_exchange = [&](int64_t r) {
    for (int k = 0; k < p; ++k) {
      if (k == me) continue;
      post(exchange[r % 2], false, peer_slot(r, k), len(r, me), k, kTagReduce);
      post(exchange[r % 2], true, data + part(r, k).first, len(r, k), k, kTagReduce);
    }
  };
  // Round r, all-gather half: send our summed sub-range, receive the others'.
  auto post_gather = [&](int64_t r) {
    for (int k = 0; k < p; ++k) {
      if (k == me) continue;
      post(gather_reqs[r % 2], false, data + part(r, k).first, len(r, k), k, kTagGather);
      post(gather_reqs[r % 2], true, data + part(r, me).first, len(r, me), k, kTagGather);
    }
  };
  using Acc = typename Accumulator<T>::type;
  auto reduce_round = [&](int64_t r) {
    T* out = data + part(r, me).first;
    const int64_t mine = len(r, me);
    constexpr int64_t kTile = 1024;
    Acc acc[kTile];
    for (int64_t t = 0; t < mine; t += kTile) {
      const int64_t m = std::min(kTile, mine - t);
      for (int k = 0; k < p; ++k) {
        const T* c = (k == me ? out : peer_slot(r, k)) + t;
        if (k == 0)
          for (int64_t i = 0; i < m; ++i) acc[i] = static_cast<Acc>(c[i]);
        else
          for (int64_t i = 0; i < m; ++i) acc[i] += static_cast<Acc>(c[i]);
      }
      for (int64_t i = 0; i < m; ++i) out[t + i] = static_cast<T>(acc[i]);
    }
  };

  if (reduce) post_exchange(0);
  for (int64_t r = 0; r < rounds; ++r) {
    if (reduce) {
      if (r + 1 < rounds) post_exchange(r + 1);
      wait(exchange[r % 2]);
      reduce_round(r);
    }
    if (gather) {
      post_gather(r);
      if (r > 0) wait(gather_reqs[(r - 1) % 2]);
    }
  }
  if (gather) wait(gather_reqs[(rounds - 1) % 2]);
  op_.clear();
}

void MpiCommunicator::do_broadcast(void* data, size_t bytes, int root) {
  check_usable();
  op_ = "broadcast";
  auto* p = static_cast<std::byte*>(data);
  Requests r;
  for (size_t off = 0; off < bytes; off += kBroadcastChunk) {
    const auto len = static_cast<int64_t>(std::min(kBroadcastChunk, bytes - off));
    if (rank_ == root) {
      for (int k = 0; k < size_; ++k)
        if (k != root) post(r, true, p + off, len, k, kTagBroadcast);
    } else {
      post(r, false, p + off, len, root, kTagBroadcast);
    }
    wait(r);
  }
  op_.clear();
}

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s) {
  return std::make_unique<MpiCommunicator>(timeout_s);
}

}  // namespace kormo::dist
