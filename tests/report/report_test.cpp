#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include "kormo/report/facts.h"
#include "kormo/report/render.h"
#include "kormo/report/report.h"
#include "kormo/report/svg.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "../temp_dir.h"

namespace fs = std::filesystem;
using namespace kormo;
using namespace kormo::report;

namespace report_test {

const char* const kHostile = "</svg><script>alert(1)</script>";

size_t occurrences(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// A run directory written by hand: a manifest, curated documents and rejects, a metrics
// log with a NaN step and a corrupted line, and one evaluation results file.
class ReportRun : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    run_ = dir_ / "run";
    fs::create_directories(run_ / "data");
    fs::create_directories(run_ / "pretrain");
    fs::create_directories(run_ / "eval");
    write_file_atomic((run_ / "manifest.json").string(), R"({"format":"kormo-manifest","version":1,
      "program":{"name":"kormo","version":"0.1.0","git_commit":"abc"},"written_at":"2026-11-29T00:00:00Z",
      "config_source":"run.toml","config":{"data":{}},"plan":["data","pretrain"],
      "stages":[{"name":"data","seed":0,"seconds":3.5,"peak_rss_bytes":104857600,
                 "inputs":[],"outputs":[{"path":"data/curated.jsonl.zst","xxh3_128":"0123456789abcdef0123456789abcdef","bytes":10}],
                 "summary":{"kept":3}},
                {"name":"pretrain","seed":0,"seconds":12.25,"inputs":[],"outputs":[],"summary":{"step":3}}]})");
    write_file_atomic((run_ / "data/curated.jsonl.zst").string(),
                      R"({"id":"a","text":"안녕하세요 세계","lang":"ko","source":"petitions","synthetic":false,"meta":{}}
{"id":"b","text":"한국어 합성 문서","lang":"ko","source":"synth","synthetic":true,"meta":{}}
{"id":"c","text":"Hello world","lang":"en","source":"gutenberg","synthetic":false,"meta":{}}
)");
    write_file_atomic((run_ / "data/curated.rejects.jsonl.zst").string(),
                      std::string(R"({"action":"removed","rule":"dedup.exact","where":"stages.jsonl:4","doc":{"text":"dup"}}
{"action":"removed","rule":"dedup.near","where":"stages.jsonl:5","doc":{"text":"near dup"}}
{"action":"removed","rule":"dedup.near","where":"stages.jsonl:6","doc":{"text":"near dup 2"}}
{"action":"removed","rule":"decontam.ngram_overlap","where":"in.jsonl:9","doc":{"text":"benchmark text"}}
{"action":"removed","rule":"c4.javascript","where":"in.jsonl:7","doc":{"text":")") +
                          kHostile + R"("}}
{"action":"altered","rule":"pii.masked","where":"in.jsonl:8","detail":{}}
)");
    write_file_atomic((run_ / "pretrain/metrics.jsonl").string(),
                      R"({"step":1,"loss":5.5,"lr":0.001,"grad_norm":2.0,"tokens_per_s":1000,"skipped":false}
{"step":2,"loss":null,"lr":0.002,"grad_norm":null,"tokens_per_s":1100,"skipped":true}
{"step":3,"loss":4.2,"lr
{"step":3,"loss":4.0,"lr":0.003,"grad_norm":1.5,"tokens_per_s":1200,"skipped":false,"val_loss":4.1,"val_bpb_ko":1.25,"val_bpb_en":1.5}
)");
    write_file_atomic((run_ / "eval/results.json").string(), R"({"results":{
        "kobest_copa":{"alias":"kobest_copa","acc,none":0.6,"acc_stderr,none":0.05},
        "arc_easy":{"alias":"arc_easy","acc,none":0.3,"acc_stderr,none":"N/A","acc_norm,none":0.31}},
      "configs":{"kobest_copa":{"doc_to_choice":["a","b"]},"arc_easy":{"doc_to_choice":"choices"}},
      "n-samples":{"kobest_copa":{"original":100,"effective":100},"arc_easy":{"original":50,"effective":50}}})");
  }
  fs::path run_;
};

TEST_F(ReportRun, GathersTheRunsNumbers) {
  const RunFacts f = gather_run(run_.string(), {.samples = false});
  ASSERT_EQ(f.manifest, "manifest.json");
  ASSERT_EQ(f.stages.size(), 2u);
  EXPECT_DOUBLE_EQ(f.stages[0].seconds, 3.5);
  EXPECT_DOUBLE_EQ(f.stages[0].peak_rss_bytes, 104857600.0);
  EXPECT_TRUE(std::isnan(f.stages[1].peak_rss_bytes));  // not recorded: shown as such, not as 0

  ASSERT_TRUE(f.data.present);
  EXPECT_EQ(f.data.stats["total"]["documents"], 3);
  EXPECT_EQ(f.data.stats["by_lang"]["ko"]["documents"], 2);
  EXPECT_EQ(f.data.stats["by_source"]["synth"]["synthetic_documents"], 1);
  EXPECT_EQ(f.data.dedup_exact, 1u);
  EXPECT_EQ(f.data.dedup_near, 2u);
  EXPECT_EQ(f.data.decontam, 1u);
  EXPECT_EQ(f.data.stats["rejects"]["altered.pii.masked"], 1);
  ASSERT_EQ(f.data.examples.size(), 5u);  // removed only; altered records carry no text
  EXPECT_EQ(f.data.examples[4].where, "in.jsonl:7");
  EXPECT_EQ(f.data.examples[4].text, kHostile);

  EXPECT_FALSE(f.tokenizer.present);
  EXPECT_FALSE(f.sft.present);
  ASSERT_TRUE(f.pretrain.present);
  EXPECT_EQ(f.pretrain.lines, 4u);
  EXPECT_EQ(f.pretrain.bad_lines, 1u);
  EXPECT_EQ(f.pretrain.first_bad, "pretrain/metrics.jsonl:3");
  EXPECT_EQ(f.pretrain.skipped_steps, 1u);
  const auto& loss = f.pretrain.series.at("loss");
  ASSERT_EQ(loss.size(), 3u);
  EXPECT_TRUE(std::isnan(loss[1].value));
  EXPECT_DOUBLE_EQ(loss[2].value, 4.0);
  EXPECT_DOUBLE_EQ(f.pretrain.series.at("val_bpb_ko").at(0).value, 1.25);

  ASSERT_TRUE(f.eval.present);
  ASSERT_EQ(f.eval.tasks.size(), 3u);
  EXPECT_EQ(f.eval.tasks[0].name, "arc_easy");  // sorted by task, acc before acc_norm
  EXPECT_EQ(f.eval.tasks[1].metric, "acc_norm");
  EXPECT_DOUBLE_EQ(f.eval.tasks[1].value, 0.31);
  EXPECT_TRUE(std::isnan(f.eval.tasks[0].chance));  // choices per document: not derivable
  EXPECT_TRUE(std::isnan(f.eval.tasks[0].stderr_of_mean));
  EXPECT_EQ(f.eval.tasks[2].name, "kobest_copa");
  EXPECT_DOUBLE_EQ(f.eval.tasks[2].chance, 0.5);
  EXPECT_EQ(f.eval.tasks[2].samples, 100u);
}

TEST_F(ReportRun, HtmlEscapesTextFromTheData) {
  const RunFacts f = gather_run(run_.string(), {.samples = false});
  const std::string html = render_html(f, nullptr);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(occurrences(html, "<svg"), occurrences(html, "</svg>"));
  // Loss, bits per byte, lr, grad norm, throughput.
  EXPECT_EQ(occurrences(html, "<svg"), 5u);
  EXPECT_NE(html.find("default-src 'none'; style-src 'unsafe-inline'; img-src data:"), std::string::npos);
  EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=\s*"?https?:)")));
  EXPECT_NE(html.find("100.0 MiB"), std::string::npos);  // the data stage's peak memory
  EXPECT_NE(html.find("+0.1000"), std::string::npos);    // kobest_copa against chance 0.5
  EXPECT_NE(html.find("1 malformed line(s) left out (first at pretrain/metrics.jsonl:3)"), std::string::npos);
  EXPECT_NE(html.find("Not run: no sft/metrics.jsonl."), std::string::npos);
}

TEST_F(ReportRun, MarkdownHasTheTablesAndKeepsRowsIntact) {
  const RunFacts f = gather_run(run_.string(), {.samples = false});
  const std::string md = render_markdown(f, nullptr);
  EXPECT_NE(md.find("| ko | 2 | 17 | "), std::string::npos) << md;
  EXPECT_NE(md.find("| removed.dedup.near | 2 | "), std::string::npos);
  EXPECT_NE(md.find("| kobest_copa | acc | 0.6000 ± 0.0500 | 0.5000 | +0.1000 | 100 | "), std::string::npos);
  EXPECT_NE(md.find("## SFT\n\nNot run"), std::string::npos);
}

TEST_F(ReportRun, BaselineColumnsCompareTheTwoRuns) {
  const fs::path base = dir_ / "base";
  fs::create_directories(base / "eval");
  write_file_atomic((base / "eval/results.json").string(),
                    R"({"results":{"kobest_copa":{"acc,none":0.55,"acc_stderr,none":0.05}}})");
  const RunFacts f = gather_run(run_.string(), {.samples = false});
  const RunFacts b = gather_run(base.string(), {.samples = false});
  const std::string md = render_markdown(f, &b);
  EXPECT_NE(md.find("| 0.5500 ± 0.0500 | +0.0500 | "), std::string::npos) << md;
  EXPECT_NE(md.find("| arc_easy | acc | 0.3000 | unknown |  | 50 | not run |"), std::string::npos) << md;
}

TEST_F(ReportRun, AnEmptyRunDirectorySaysWhatIsMissing) {
  const fs::path empty = dir_ / "empty";
  fs::create_directories(empty);
  const RunFacts f = gather_run(empty.string());
  EXPECT_TRUE(f.manifest.empty());
  EXPECT_TRUE(f.final_checkpoint.empty());
  const std::string html = render_html(f, nullptr);
  for (const char* s : {"Not run: the run has no curated documents", "Not run: the run has no tokenizer",
                        "Not run: no pretrain/metrics.jsonl.", "Not run: no evaluation results",
                        "Not run: the run has no checkpoint", "No manifest"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  EXPECT_EQ(html.find("<svg"), std::string::npos);
}

TEST_F(ReportRun, WritesFilesAndRefusesBadInput) {
  ReportOptions opt;
  opt.run_dir = run_.string();
  opt.out_dir = (dir_ / "out").string();
  opt.samples = false;
  const ReportFiles files = write_report(opt);
  EXPECT_TRUE(fs::exists(files.html));
  EXPECT_TRUE(fs::exists(files.markdown));
  EXPECT_TRUE(files.model_card.empty());  // no checkpoint, no model card
  EXPECT_EQ(files.dataset_card, (dir_ / "out/data/README.md").string());
  const std::string card = read_file(files.dataset_card);
  EXPECT_NE(card.find("| removed.dedup.exact | 1 | "), std::string::npos);

  EXPECT_THROW(gather_run((dir_ / "missing").string()), Error);
  write_file_atomic((run_ / "manifest.json").string(), "{not json");
  try {
    gather_run(run_.string());
    FAIL() << "a corrupted manifest was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("manifest.json"), std::string::npos) << e.what();
  }
  // A bundle never replaces an existing directory.
  fs::create_directories(dir_ / "bundle");
  ReportOptions bundle;
  bundle.run_dir = run_.string();
  bundle.bundle_dir = (dir_ / "bundle").string();
  EXPECT_THROW(write_report(bundle), Error);
}

TEST(ReportChart, OnePointNaNAndManyPoints) {
  ChartOptions titled;
  titled.title = "t";
  const std::string one = line_chart({{"loss", {{5, 2.0}}}}, titled);
  EXPECT_NE(one.find("h0.01"), std::string::npos);  // a lone point is drawn as a dot
  const std::string none = line_chart({{"loss", {{1, std::nan("")}, {2, std::nan("")}}}}, titled);
  EXPECT_NE(none.find("no data"), std::string::npos);
  const std::string gap = line_chart({{"loss", {{1, 1.0}, {2, 2.0}, {3, std::nan("")}, {4, 3.0}, {5, 4.0}}}}, titled);
  EXPECT_EQ(occurrences(gap, "M"), 2u);  // the NaN splits the line in two
  EXPECT_EQ(gap.find("nan"), std::string::npos);

  std::vector<Point> many;
  for (int i = 0; i < 20000; ++i) many.push_back({double(i), i == 12345 ? 100.0 : 1.0 + 1e-4 * (i % 7)});
  const std::vector<Point> small = downsample(many, 800);
  EXPECT_LE(small.size(), 800u);
  EXPECT_GE(small.size(), 400u);
  EXPECT_TRUE(std::any_of(small.begin(), small.end(), [](const Point& p) { return p.value == 100.0 && p.step == 12345; }));
  EXPECT_DOUBLE_EQ(small.front().step, 0);
  const std::string big = line_chart({{"loss", many}}, titled);
  EXPECT_LT(big.size(), 40000u);
  EXPECT_EQ(escape_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

}  // namespace report_test
