#include "kormo/report/report.h"


#include <algorithm>
#include <filesystem>

#include "kormo/report/facts.h"
#include "kormo/report/render.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/manifest.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace kormo::report {
namespace {

void copy_into(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) fail_io("{}: cannot copy to {}: {}", from.string(), to.string(), ec.message());
}

// Files named by reference: their paths in the run directory and their content hashes,
// enough to fetch them from wherever the run is published and check them.
json references(const fs::path& run, const std::vector<std::string>& paths) {
  json out = json::array();
  for (const std::string& p : paths)
    if (fs::exists(run / p))
      for (const json& f : files_json(hash_path((run / p).string(), run.string()))) out.push_back(f);
  return out;
}

void write_bundle(const RunFacts& facts, const ReportOptions& opt, const std::string& html, const std::string& md,
                  const std::string& model, const std::string& dataset) {
  const fs::path run(opt.run_dir), dest = fs::absolute(opt.bundle_dir);
  const fs::path tmp = dest.parent_path() / ("." + dest.filename().string() + ".tmp");
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  auto put = [&](const std::string& name, const std::string& text) {
    fs::create_directories((tmp / name).parent_path());
    write_file_atomic((tmp / name).string(), text);
  };
  put("README.md", model);
  put("report.html", html);
  put("report.md", md);
  if (!facts.manifest.empty()) copy_into(run / facts.manifest, tmp / facts.manifest);
  if (fs::is_directory(run / "config")) copy_into(run / "config", tmp / "config");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"pretrain/metrics.jsonl", "logs/pretrain.metrics.jsonl"},
           {"sft/metrics.jsonl", "logs/sft.metrics.jsonl"},
           {"data/work/summary.json", "logs/data.summary.json"}})
    if (fs::exists(run / from)) copy_into(run / from, tmp / to);
  if (fs::is_directory(run / "eval")) copy_into(run / "eval", tmp / "eval");

  json refs = {{"run_dir", fs::absolute(run).string()}};
  if (!facts.final_checkpoint.empty()) {
    put("model/README.md", model);
    if (opt.include_weights) {
      // The model directory as Hugging Face loads it; the optimizer state stays behind.
      for (const auto& e : fs::directory_iterator(run / facts.final_checkpoint))
        if (e.path().filename() != "trainer_state") copy_into(e.path(), tmp / "model" / e.path().filename());
    } else {
      refs["weights"] = references(run, {facts.final_checkpoint});
    }
  }
  if (facts.data.present) {
    put("data/README.md", dataset);
    std::vector<std::string> data_files{facts.data.curated};
    if (!facts.data.rejects.empty()) data_files.push_back(facts.data.rejects);
    if (opt.include_data) {
      for (const std::string& f : data_files) copy_into(run / f, tmp / f);
    } else {
      refs["data"] = references(run, data_files);
    }
  }
  put("files.json", refs.dump(2) + "\n");
  fs::rename(tmp, dest);
}

}  // namespace

ReportFiles write_report(const ReportOptions& opt) {
  // Refused before any work: a bundle never replaces what is there.
  if (!opt.bundle_dir.empty()) {
    if (fs::exists(opt.bundle_dir)) fail_usage("--bundle {}: already exists; give a new directory", opt.bundle_dir);
    // Inside the run it would be copied into itself (its config/, eval/ ...).
    const fs::path run = fs::weakly_canonical(fs::absolute(opt.run_dir)), dest = fs::weakly_canonical(fs::absolute(opt.bundle_dir));
    if (std::mismatch(run.begin(), run.end(), dest.begin(), dest.end()).first == run.end())
      fail_usage("--bundle {}: inside the run directory {}; give a directory outside it", opt.bundle_dir, opt.run_dir);
  }
  GatherOptions go;
  go.samples = opt.samples;
  const RunFacts facts = gather_run(opt.run_dir, go);
  RunFacts base;
  if (!opt.baseline_dir.empty()) base = gather_run(opt.baseline_dir, {.samples = false});
  const RunFacts* baseline = opt.baseline_dir.empty() ? nullptr : &base;

  const fs::path out = opt.out_dir.empty() ? fs::path(opt.run_dir) : fs::path(opt.out_dir);
  make_dirs(out.string());
  ReportFiles files;
  const std::string html = render_html(facts, baseline), md = render_markdown(facts, baseline);
  const std::string model = model_card(facts), dataset = dataset_card(facts);
  files.html = (out / "report.html").string();
  files.markdown = (out / "report.md").string();
  write_file_atomic(files.html, html);
  write_file_atomic(files.markdown, md);
  if (!facts.final_checkpoint.empty()) {
    files.model_card = (out / "model_card.md").string();
    write_file_atomic(files.model_card, model);
  }
  if (facts.data.present) {
    // Beside the curated documents it describes (in the run's layout under --out).
    make_dirs((out / "data").string());
    files.dataset_card = (out / "data" / "README.md").string();
    write_file_atomic(files.dataset_card, dataset);
  }
  if (!opt.bundle_dir.empty()) {
    write_bundle(facts, opt, html, md, model, dataset);
    files.bundle = opt.bundle_dir;
  }
  return files;
}

}  // namespace kormo::report
