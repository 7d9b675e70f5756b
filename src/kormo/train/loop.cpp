#include "kormo/train/loop.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include <fmt/ranges.h>

#include "kormo/dist/nccl_communicator.h"
#include "kormo/model/runner.h"
#include "kormo/train/checkpoint.h"
#include "kormo/train/evaluate.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "kormo/util/log.h"
#include "kormo/util/profile.h"
#include "kormo/util/progress.h"
#include "kormo/util/signals.h"

namespace kormo::train {

namespace fs = std::filesystem;

namespace {

// Keeps the metrics lines of steps ≤ step (a resumed run rewrites what followed).
void truncate_metrics(const std::string& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::string kept;
  LineReader r(path);
  std::string_view line;
  while (r.next(line)) {
    auto j = parse_json_or_discarded(line);
    if (!j.is_discarded() && j.contains("step") && j["step"].get<int64_t>() <= step) kept += std::string(line) + "\n";
  }
  write_file_atomic(path, kept);
}

// Finds the checkpoint to continue from, refusing to touch a run without --resume. A run
// with metrics but no complete checkpoint was stopped before its first checkpoint: the
// only way to continue it is from step 0, which --resume does (its metrics are dropped
// when the loop truncates them to step 0); "" means start fresh.
std::string resume_point(const LoopConfig& cfg) {
  std::string from;
  if (fs::exists(cfg.out_dir)) {
    from = latest_checkpoint(cfg.out_dir);
    const bool has_metrics = fs::exists(fs::path(cfg.out_dir) / "metrics.jsonl");
    if (!cfg.resume && !from.empty())
      fail("{}: run directory already holds a run; pass --resume to continue it (nothing was changed)", cfg.out_dir);
    if (!cfg.resume && has_metrics)
      fail("{}: run directory holds a run stopped before its first checkpoint; pass --resume to restart it from step 0 "
           "(nothing was changed)",
           cfg.out_dir);
    if (cfg.resume && from.empty() && has_metrics) {
      log_info("{}: the run stopped before its first checkpoint; restarting it from step 0", cfg.out_dir);
      return from;
    }
  }
  if (cfg.resume && from.empty()) fail("{}: --resume given but there is no checkpoint to resume", cfg.out_dir);
  return from;
}

// The signal every rank stops for (0 = go on): SIGTERM/SIGINT during the loop are only
// recorded (util/signals.h); the loop finishes its step, checkpoints and ends the process
// by that signal (so the shell or scheduler sees 128 + signal). One all-reduce per step,
// so all ranks stop after the same step and none waits in a collective the others never
// enter; SIGTERM (the scheduler's) wins over SIGINT when ranks saw different ones.
int agreed_stop_signal(const StopRequest& stop, dist::Communicator& comm) {
  const int local = stop.signal();
  if (comm.size() == 1) return local;
  double seen[2] = {local == SIGTERM ? 1.0 : 0.0, local == SIGINT ? 1.0 : 0.0};
  comm.all_reduce_sum(seen, 2);
  return seen[0] > 0 ? SIGTERM : seen[1] > 0 ? SIGINT : 0;
}

// Says (on rank 0) how many moment elements each rank allocated: the ranks report their
// arrays' real sizes, so a full-size allocation would show.
void log_zero_shards(AdamW& opt, int64_t n, dist::Communicator& comm) {
  std::vector<int64_t> held(static_cast<size_t>(comm.size()), 0);
  held[static_cast<size_t>(comm.rank())] = opt.m().size() + opt.v().size();
  comm.all_reduce_sum(held.data(), comm.size());
  const int64_t most = *std::max_element(held.begin(), held.end());
  log_info("ZeRO-1 over {} ranks: AdamW moments (m + v) per rank: {} elements; {:.1f} MiB on the largest rank instead "
           "of {:.1f} MiB ({} elements) unsharded",
           comm.size(), fmt::join(held, " "), static_cast<double>(most) * 4 / (1 << 20),
           static_cast<double>(2 * n) * 4 / (1 << 20), 2 * n);
}

const char* signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

}  // namespace

void run_training(const LoopConfig& cfg, model::Weights& w, BatchSource& source,
                  const std::vector<shard::LoadedBatch>& validation, dist::Communicator& comm) {
  const std::string from = resume_point(cfg);
  // Every rank has looked at out_dir before rank 0 writes into it.
  comm.barrier();
  const bool lead = comm.rank() == 0;
  backend::Backend& be = w.backend();
  // Gradients in GPU memory are summed over NCCL (bootstrapped over comm; KORMO_DIST=nccl
  // also for one process); host scalars, barriers and checkpoints stay on comm.
  std::unique_ptr<dist::Communicator> device_comm;
  if (!be.host_accessible() && (comm.size() > 1 || dist::nccl_forced())) {
    device_comm = dist::make_nccl_communicator(comm);
    if (lead) log_info("gradients are summed over NCCL ({} GPU{})", comm.size(), comm.size() > 1 ? "s" : "");
  }
  dist::Communicator& grad_comm = device_comm ? *device_comm : comm;
  const int64_t n = w.size();
  // NCCL's world of one takes the ZeRO-1 path too, so one GPU exercises it.
  const bool zero = cfg.zero && (comm.size() > 1 || device_comm);
  // NCCL reduce-scatters and all-gathers whole shards, padded_length(n, size) elements
  // (communicator.h); the Runner below sizes its gradients by the weights' capacity.
  if (zero && device_comm) w.pad_to(dist::padded_length(n, comm.size()));
  AdamW opt = zero ? AdamW(cfg.adamw, w, dist::shard_of(n, comm.size(), comm.rank())) : AdamW(cfg.adamw, w);
  if (zero) log_zero_shards(opt, n, comm);
  TrainerState st;
  if (from.empty()) {
    if (cfg.init_weights) w.init_random(cfg.seed);
  } else {
    load_checkpoint(from, w, opt, st);
    const std::string sp = from + "/trainer_state/state.json";
    // A step beyond the config's total would make the loop below run away or never stop.
    if (st.step > cfg.schedule.total_steps)
      fail("{}: step is {}, beyond the config's {} total steps", sp, st.step, cfg.schedule.total_steps);
    try {
      source.restore(st.source);
    } catch (const Error& e) {
      fail("{}: loader: {}", sp, e.what());
    }
    if (st.threads != omp_get_max_threads())
      log_warn("{}: saved with {} threads, resuming with {}: the run stays valid but is no longer bit-identical", from,
               st.threads, omp_get_max_threads());
    log_info("resuming from {} (step {})", from, st.step);
  }
  st.seed = cfg.seed;
  st.threads = omp_get_max_threads();
  const std::string metrics_path = cfg.out_dir + "/metrics.jsonl";
  std::ofstream metrics;
  if (lead) {
    make_dirs(cfg.out_dir);
    truncate_metrics(metrics_path, st.step);
    metrics.open(metrics_path, std::ios::app);
    if (!metrics) fail_io("{}: cannot open for appending", metrics_path);
  }

  model::Runner runner(w, model::Runner::Mode::kTraining, cfg.precision, {.recompute = cfg.recompute});
  const int64_t total = cfg.schedule.total_steps;
  const int64_t stop = cfg.max_steps >= 0 ? std::min(total, st.step + cfg.max_steps) : total;
  const int64_t warmup_steps = static_cast<int64_t>(std::floor(cfg.schedule.warmup_frac * total));
  op_profile().enabled = cfg.profile;

  std::optional<Progress> progress;  // rank 0's alone
  if (lead) progress.emplace(cfg.name, static_cast<double>(stop), "steps"), progress->update(static_cast<double>(st.step));
  std::vector<shard::LoadedBatch> micro(cfg.grad_accum);
  std::vector<float> weight;
  int64_t skipped_in_a_row = 0;
  const StopRequest stop_request;
  while (st.step < stop) {
    const auto t0 = std::chrono::steady_clock::now();
    double weight_sum = 0;
    int64_t step_tokens = 0;
    {
      OpTimer tm("data");
      for (auto& mb : micro) {
        mb = source.next();
        for (float x : mb.loss_weight) weight_sum += x;
        step_tokens += mb.batch.B * mb.batch.T * comm.size();
      }
      weight_sum = comm.all_reduce_sum(weight_sum);
    }
    {
      OpTimer tm("zero_grads");
      runner.zero_grads();
    }
    double loss_sum = 0;
    model::ForwardOptions fo;
    fo.z_loss = static_cast<float>(cfg.z_loss);
    for (auto& mb : micro) {
      runner.forward(mb.batch, fo);
      const std::vector<float> losses = runner.losses_host();
      weight.resize(mb.loss_weight.size());
      for (size_t n = 0; n < weight.size(); ++n) {
        loss_sum += static_cast<double>(mb.loss_weight[n]) * losses[n];
        weight[n] = static_cast<float>(mb.loss_weight[n] / weight_sum);
      }
      runner.backward(mb.batch, weight);
    }
    double allreduce_s = 0;
    if (comm.size() > 1 || device_comm) {
      OpTimer tm("all_reduce");
      const auto a0 = std::chrono::steady_clock::now();
      loss_sum = comm.all_reduce_sum(loss_sum);
      if (zero)
        grad_comm.reduce_scatter_sum(runner.grads(), n);
      else
        grad_comm.all_reduce_sum(runner.grads(), n);
      allreduce_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a0).count();
    }
    const double loss = weight_sum > 0 ? loss_sum / weight_sum : NAN;
    double norm;
    {
      OpTimer tm("grad_norm");
      norm = comm.size() == 1 ? grad_norm(be, runner.grads(), n)
                              : block_grad_norm(be, runner.grads(), n, opt.shard(), zero ? &comm : nullptr);
    }
    const double lr = lr_at(cfg.schedule, st.step);
    bool skip = !std::isfinite(loss) || !std::isfinite(norm);
    if (!skip && cfg.spike_factor > 0 && st.step >= warmup_steps && st.loss_ema > 0 &&
        loss > cfg.spike_factor * st.loss_ema)
      skip = true;
    if (skip && lead) {
      log_warn("step {}: skipped the update (loss {}, grad norm {}, running loss {:.4f})", st.step + 1, loss, norm,
               st.loss_ema);
    }
    if (!skip) {
      {
        OpTimer tm("adamw");
        const float clip = cfg.grad_clip > 0 && norm > cfg.grad_clip ? static_cast<float>(cfg.grad_clip / norm) : 1.f;
        opt.step(w, runner.grads(), lr, ++st.updates, clip);
      }
      if (zero) {
        OpTimer tm("all_gather");
        const auto a0 = std::chrono::steady_clock::now();
        grad_comm.all_gather(w.data(), n);
        allreduce_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - a0).count();
      }
      runner.weights_changed();
      st.loss_ema = st.loss_ema == 0 ? loss : 0.95 * st.loss_ema + 0.05 * loss;
    }
    skipped_in_a_row = skip ? skipped_in_a_row + 1 : 0;
    st.step += 1;
    st.tokens += step_tokens;
    be.synchronize();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double tps = static_cast<double>(step_tokens) / dt;
    const double mfu = tps * cfg.flops_per_token / cfg.peak_flops;
    nlohmann::ordered_json line = {{"step", st.step},     {"loss", loss},    {"lr", lr},
                                   {"grad_norm", norm},   {"skipped", skip}, {"tokens", st.tokens},
                                   {"tokens_per_s", tps}, {"mfu", mfu},      {"step_s", dt}};
    if (comm.size() > 1) line["allreduce_s"] = allreduce_s;
    const bool last = st.step == stop;
    // Training that only skips has diverged (non-finite loss or gradients every step): it
    // must not run on and exit 0. Every rank sees the same skips, so all stop together;
    // rank 0 writes the metrics line first so the failure is on record.
    const bool runaway = cfg.max_skipped > 0 && skipped_in_a_row >= cfg.max_skipped;
    const auto give_up = [&] {
      fail("step {}: {} updates in a row were skipped (loss {}, grad norm {}); training has diverged, stopping "
           "([train] max_skipped = {})",
           st.step, skipped_in_a_row, loss, norm, cfg.max_skipped);
    };
    const int stop_signal = agreed_stop_signal(stop_request, comm);
    // Rank 0's checkpoint is complete before any rank ends: mpirun tears the job down
    // as soon as one rank is gone.
    const auto stop_now = [&](const std::string& saved) {
      if (lead)
        log_warn("{}: stopped by {} after step {}; checkpoint {} saved; run the same command again to continue "
                 "(kormo pretrain: with --resume)",
                 cfg.name, signal_name(stop_signal), st.step, saved);
      comm.barrier();
      StopRequest::end_by(stop_signal);
    };
    const bool save = last || stop_signal != 0 || (cfg.checkpoint_every > 0 && st.step % cfg.checkpoint_every == 0);
    if (!lead) {
      if (runaway) give_up();
      // Under ZeRO-1 rank 0's checkpoint needs every rank's moment shard.
      if (save && zero) save_checkpoint(cfg.out_dir, w, opt, st, cfg.extra_files, comm);
      if (stop_signal != 0) stop_now("");
      continue;
    }
    if (!validation.empty() && ((cfg.eval_every > 0 && st.step % cfg.eval_every == 0) || (last && st.step == total))) {
      EvalResult er = evaluate(runner, validation);
      for (auto& [k, v] : er.fields.items()) line[k] = v;
      log_info("step {}: val loss {:.4f}", st.step, er.loss);
    }
    metrics << line.dump() << "\n";
    metrics.flush();
    if (runaway) give_up();
    progress->update(static_cast<double>(st.step),
                    fmt::format("loss {:.4f} lr {:.2e} {:.0f} tok/s MFU {:.1f}%", loss, lr, tps, 100 * mfu));
    if (save) {
      st.source = source.state();
      const std::string saved = save_checkpoint(cfg.out_dir, w, opt, st, cfg.extra_files, comm);
      if (cfg.keep_last > 0) prune_checkpoints(cfg.out_dir, cfg.keep_last);
      if (stop_signal != 0) stop_now(saved);
    }
  }
  // A signal after the last step's check ends the process (see ~StopRequest): rank 0's
  // final checkpoint must be complete by then.
  comm.barrier();
  if (!lead) return;
  progress->finish();
  if (cfg.profile) log_op_profile();
}

}  // namespace kormo::train
