// translate: pairs from documents in the Debian source's layout, the cleaning
// rules, both directions with seeded templates, and the builtin runner's shared
// rules (dedup, -n sampling, determinism) on those documents.
#include <gtest/gtest.h>

#include <set>

#include "../temp_dir.h"
#include "kormo/synth/builtin.h"
#include "kormo/synth/translate.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"

namespace kormo::synth {
namespace translate_test {

using nlohmann::json;

data::Document lohelp(const std::string& lang, const std::string& key, const std::vector<std::string>& ids,
                      const std::vector<std::string>& paras) {
  data::Document d;
  d.id = "debian/libreoffice-help/" + key + "#" + lang;
  d.lang = lang;
  d.source = "debian";
  for (const auto& p : paras) d.text += (d.text.empty() ? "" : "\n\n") + p;
  d.meta = {{"package", "libreoffice-help-" + lang}, {"path", "/usr/share/" + key}, {"pair", key}, {"paragraph_ids", ids}};
  return d;
}

// A catalog side as the Debian source writes it: one entry after another, each
// ending in '\n', with the lines of each entry in meta.entry_lines.
data::Document catalog(const std::string& lang, const std::string& key, const std::vector<std::string>& entries) {
  data::Document d;
  d.id = "debian/" + key + "#" + lang;
  d.lang = lang;
  d.source = "debian";
  json lines = json::array();
  for (const auto& e : entries) {
    d.text += e + "\n";
    lines.push_back(1 + std::count(e.begin(), e.end(), '\n'));
  }
  d.meta = {{"path", "/usr/share/locale/ko/LC_MESSAGES/" + key},
            {"pair", key},
            {"pairs", entries.size()},
            {"catalog_side", lang == "en" ? "msgid" : "msgstr"},
            {"entry_lines", lines}};
  return d;
}

TEST(TranslatePairs, LibreOfficeParagraphsPairById) {
  PairCollector c;
  // The Korean page keeps only translated paragraphs (par_id2 was an English fallback).
  EXPECT_TRUE(c.add(lohelp("en", "help/{lang}/a.html", {"hd_id1", "par_id2", "par_id3"},
                           {"Inserting Objects", "Choose Insert - Object.", "Select the object you want to insert."})));
  EXPECT_TRUE(c.add(lohelp("ko", "help/{lang}/a.html", {"hd_id1", "par_id3"},
                           {"개체 삽입", "삽입하려는 개체를 선택합니다."})));
  data::Document plain;
  plain.lang = "ko";
  plain.text = "no pair key";
  EXPECT_FALSE(c.add(plain));
  data::Counts counts;
  auto pairs = c.pairs(counts);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].en, "Inserting Objects");
  EXPECT_EQ(pairs[0].ko, "개체 삽입");
  EXPECT_EQ(pairs[0].item, "hd_id1");
  EXPECT_EQ(pairs[1].en, "Select the object you want to insert.");
  EXPECT_EQ(pairs[1].ko, "삽입하려는 개체를 선택합니다.");
  EXPECT_EQ(pairs[1].seed_id, "debian/libreoffice-help/help/{lang}/a.html#ko");
  EXPECT_EQ(pairs[1].path, "/usr/share/help/{lang}/a.html");
}

TEST(TranslatePairs, CatalogEntriesPairAcrossMultiLineEntries) {
  PairCollector c;
  // The second entry spans three lines in English and two in Korean: pairing by
  // line would shift every later entry.
  c.add(catalog("en", "cat.mo", {"Remove the file", "Usage: rm [OPTION]... FILE...\nRemove the FILE(s).\n",
                                 "Show the version number"}));
  c.add(catalog("ko", "cat.mo", {"파일을 지웁니다", "사용법: rm [<옵션>]... <파일>...\n<파일>을 지웁니다.",
                                 "버전 번호를 보여 줍니다"}));
  data::Counts counts;
  auto pairs = c.pairs(counts);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[1].en, "Usage: rm [OPTION]... FILE...\nRemove the FILE(s).\n");
  EXPECT_EQ(pairs[1].ko, "사용법: rm [<옵션>]... <파일>...\n<파일>을 지웁니다.");
  EXPECT_EQ(pairs[2].en, "Show the version number");
  EXPECT_EQ(pairs[2].ko, "버전 번호를 보여 줍니다");
  EXPECT_EQ(pairs[2].item, "entry 3");
}

TEST(TranslatePairs, MisalignedOrOneSidedGroupsAreSkipped) {
  PairCollector c;
  auto ko = catalog("ko", "bad.mo", {"하나", "둘"});
  ko.meta["pairs"] = 3;  // the text holds two entries, not three
  c.add(catalog("en", "bad.mo", {"one", "two", "three"}));
  c.add(ko);
  c.add(lohelp("en", "only-en", {"p1"}, {"English only"}));
  data::Counts counts;
  EXPECT_TRUE(c.pairs(counts).empty());
  EXPECT_EQ(counts["translate.group.misaligned"], 1u);
  EXPECT_EQ(counts["translate.group.one_language"], 1u);
}

std::string rule(std::string en, std::string ko) {
  TextPair p{std::move(en), std::move(ko), "", "", ""};
  return clean_pair(p);
}

TEST(TranslateClean, Rules) {
  EXPECT_EQ(rule("Open the selected file", "선택한 파일을 엽니다"), "");
  // English fallbacks left in the Korean side.
  EXPECT_EQ(rule("Open the selected file", "Open the selected file"), "translate.identical");
  EXPECT_EQ(rule("Open the selected file", "Open the selected files"), "translate.ko_not_korean");
  EXPECT_EQ(rule("Saves the current document", "Saves the current 문서"), "translate.ko_not_korean");
  EXPECT_EQ(rule("파일 열기", "파일 열기 창"), "translate.en_not_english");
  // Placeholders: nothing but format fields, or fields that do not match.
  EXPECT_EQ(rule("%s: %d", "%s: %d개"), "translate.placeholder_only");
  EXPECT_EQ(rule("%s (%lu)", "%s(%lu)"), "translate.placeholder_only");
  EXPECT_EQ(rule("Copied %d files", "파일을 복사했습니다"), "translate.placeholder_mismatch");
  EXPECT_EQ(rule("cannot open %s for writing", "쓰기용으로 %d 열 수 없습니다"), "translate.placeholder_mismatch");
  EXPECT_EQ(rule("%s of %s copied", "%2$s 중 %1$s 복사됨"), "");  // positional fields reorder
  EXPECT_EQ(rule("100%% done for {name}", "{name} 100%% 완료"), "");
  EXPECT_EQ(rule("Show <b>all</b> files", "<b>모든</b> 파일 보기"), "translate.markup");
  EXPECT_EQ(rule("Open", "열기"), "translate.too_short");
}

TEST(TranslateClean, Accelerators) {
  EXPECT_EQ(strip_accelerators("_Open File"), "Open File");
  EXPECT_EQ(strip_accelerators("E_xit program"), "Exit program");
  EXPECT_EQ(strip_accelerators("Save ~As"), "Save As");
  EXPECT_EQ(strip_accelerators("파일 열기(_O)"), "파일 열기");
  EXPECT_EQ(strip_accelerators("다른 이름으로 저장 (~A)..."), "다른 이름으로 저장...");
  EXPECT_EQ(strip_accelerators("열기(&O)"), "열기");
  EXPECT_EQ(strip_accelerators("_파일"), "파일");
  // Not accelerators: several markers, a marker before a non-letter.
  EXPECT_EQ(strip_accelerators("set_config_value"), "set_config_value");
  EXPECT_EQ(strip_accelerators("see ~/.config"), "see ~/.config");
  TextPair p{"_Open the file", "파일 열기(_O)", "", "", ""};
  EXPECT_EQ(clean_pair(p), "");
  EXPECT_EQ(p.en, "Open the file");
  EXPECT_EQ(p.ko, "파일 열기");
}

TEST(TranslateConversations, BothDirectionsSeededTemplates) {
  std::vector<TextPair> pairs;
  for (int i = 0; i < 40; ++i)
    pairs.push_back({"Select item number " + std::to_string(i), std::to_string(i) + "번 항목을 선택합니다", "ko-doc",
                     "/p", "par_id" + std::to_string(i)});
  auto a = translate_conversations(pairs, 1), b = translate_conversations(pairs, 1), c = translate_conversations(pairs, 2);
  ASSERT_EQ(a.size(), 80u);
  std::set<std::string> templates;
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(to_json_line(a[i]), to_json_line(b[i]));
    differ += to_json_line(a[i]) != to_json_line(c[i]);
    templates.insert(a[i].meta.at("template").get<std::string>());
    ASSERT_EQ(a[i].messages.size(), 2u);
    EXPECT_EQ(a[i].messages[0].role, "user");
    EXPECT_EQ(a[i].messages[1].role, "assistant");
    EXPECT_EQ(a[i].source, "translate");
    EXPECT_EQ(a[i].meta.at("seed_id"), "ko-doc");
    const TextPair& p = pairs[i / 2];
    bool to_english = i % 2 == 0;
    EXPECT_EQ(a[i].lang, to_english ? "en" : "ko");
    EXPECT_EQ(a[i].messages[1].content, to_english ? p.en : p.ko);
    EXPECT_NE(a[i].messages[0].content.find(to_english ? p.ko : p.en), std::string::npos);
  }
  EXPECT_GE(templates.size(), 8u);  // of 12: Korean and English phrasings in both directions
  EXPECT_GE(differ, 20);
}

class BuiltinTest : public TempDirTest {};

TEST_F(BuiltinTest, DedupSamplingAndDeterminism) {
  std::string docs = (dir_ / "docs.jsonl").string();
  {
    AtomicWriter w(docs);
    // The same strings in two catalogs give the same conversations once.
    for (std::string key : {"a.mo", "b.mo"}) {
      w.write_line(data::to_json_line(catalog("en", key, {"Remove the selected file", "Show hidden files too"})));
      w.write_line(data::to_json_line(catalog("ko", key, {"선택한 파일을 지웁니다", "숨김 파일도 보여 줍니다"})));
    }
    w.commit();
  }
  BuiltinOptions o;
  o.programs = {"translate"};
  o.docs = {docs};
  o.seed = 3;
  o.output = (dir_ / "out.jsonl").string();
  auto counts = run_builtin(o);
  EXPECT_EQ(counts["translate.candidates"], 8u);
  EXPECT_EQ(counts["translate.dedup.exact"], 4u);
  EXPECT_EQ(counts["translate.kept"], 4u);
  std::string first = read_file(o.output);
  auto summary = parse_json_or_discarded(read_file((dir_ / "out.summary.json").string()));
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["conversations"], 4);
  EXPECT_EQ(summary["counts"]["translate.kept"], 4);
  run_builtin(o);
  EXPECT_EQ(read_file(o.output), first);
  o.n = 3;
  counts = run_builtin(o);
  EXPECT_EQ(counts["translate.kept"], 3u);
  EXPECT_EQ(counts["translate.sampled_out"], 1u);
}

TEST_F(BuiltinTest, BadDocumentNamesFileAndLine) {
  std::string docs = (dir_ / "docs.jsonl").string();
  write_file_atomic(docs, data::to_json_line(catalog("en", "a.mo", {"x"})) + "\n{\"text\": 3}\n");
  BuiltinOptions o;
  o.programs = {"faq"};
  o.docs = {docs};
  o.output = (dir_ / "out.jsonl").string();
  try {
    run_builtin(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(docs + ":2"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(o.output));
}

}  // namespace translate_test

}  // namespace kormo::synth
