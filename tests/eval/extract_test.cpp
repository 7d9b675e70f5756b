#include "kormo/eval/extract.h"

#include <gtest/gtest.h>

#include "kormo/eval/task.h"
#include "kormo/util/error.h"

using namespace kormo;

// Expected values printed by lm-eval 0.4.13 (RegexFilter, exact_match_hf_evaluate) and
// CPython 3.11 on the same strings.

namespace extract_test {

struct Gsm8k {
  eval::TaskSpec spec = eval::load_task("gsm8k");
  eval::PyRegex strict{spec.filters[0].regex, "strict"}, flexible{spec.filters[1].regex, "flexible"};
  std::string s(const std::string& t) const { return eval::regex_filter(t, strict, 0, "[invalid]"); }
  std::string f(const std::string& t) const { return eval::regex_filter(t, flexible, -1, "[invalid]"); }
};

TEST(EvalExtract, Gsm8kFiltersAsLmEval) {
  Gsm8k g;
  EXPECT_EQ(g.s(" She pays $1,200.\n#### 1,200."), "1,200.");
  EXPECT_EQ(g.f(" She pays $1,200.\n#### 1,200."), "1,200.");
  EXPECT_EQ(g.s("The answer is 7 apples, then 12.5"), "[invalid]");
  EXPECT_EQ(g.f("The answer is 7 apples, then 12.5"), "12.5");
  EXPECT_EQ(g.f("no number here"), "[invalid]");
  EXPECT_EQ(g.f(" 3 and $45 and 6"), "6");  // the last match; its one non-empty group
  EXPECT_EQ(g.s("####  5"), "[invalid]");
  EXPECT_EQ(g.f("####  5"), "5");
  EXPECT_EQ(g.s("x #### -3.5\n#### 4,000 dollars"), "-3.5");  // take_first: the first match
  EXPECT_EQ(g.f("x #### -3.5\n#### 4,000 dollars"), "4,000");
}

TEST(EvalExtract, Gsm8kExactMatchAsLmEval) {
  Gsm8k g;
  const eval::ExactMatch em(g.spec.exact_match, "gsm8k");
  EXPECT_TRUE(em("1,200.", "Tom has 3.\n#### 1200"));  // "(?s).*#### " spans the newline
  EXPECT_TRUE(em("$45", "#### 45"));
  EXPECT_FALSE(em("45.0", "#### 45"));
  EXPECT_FALSE(em("[invalid]", "#### 7"));
  EXPECT_TRUE(em("ABC", "#### abc"));
  EXPECT_FALSE(em("12.\n", "#### 12"));  // Python's $ matches before the final newline: "12\n"
  EXPECT_TRUE(em("12.\n", "#### 12\n"));
}

TEST(EvalExtract, PythonRegexDifferencesAndErrors) {
  // Without (?s) a dot does not cross a newline; $ also matches before a final newline.
  EXPECT_EQ(eval::PyRegex("a.b", "t").findall("a\nb axb").size(), 1u);
  EXPECT_EQ(eval::PyRegex("(?s)a.b", "t").findall("a\nb axb").size(), 2u);
  EXPECT_EQ(eval::PyRegex("x$", "t").remove_all("ax\n"), "a\n");
  EXPECT_EQ(eval::PyRegex("(?i)abc", "t").remove_all("xABCx"), "xx");
  auto groups = eval::PyRegex("(a)|(b)", "t").findall("b");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0], (std::vector<std::string>{"", "b"}));
  auto error_of = [](const std::string& p) {
    try {
      eval::PyRegex(p, "where");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("(?P<n>x)").find("where"), std::string::npos);
  EXPECT_NE(error_of("(?m)x").find("not supported"), std::string::npos);
  EXPECT_NE(error_of("(x").find("does not compile"), std::string::npos);
}

TEST(EvalExtract, SubAsPythonReSub) {
  auto sub = [](const std::string& p, const std::string& r, const std::string& t, int64_t count = 0) {
    return eval::PyRegex(p, "t").sub(t, r, count, "repl");
  };
  EXPECT_EQ(sub(R"(\[.*?\])", "", "a [b] c [d [e] f] g"), "a  c  f] g");  // hellaswag's preprocess
  EXPECT_EQ(sub(R"((\w+)@(\w+))", R"(\2 at \1)", "x@y and p@q"), "y at x and q at p");
  EXPECT_EQ(sub(R"((\w+)@(\w+))", R"(\g<2>-\g<0>)", "x@y"), "y-x@y");
  EXPECT_EQ(sub("a", "b", "aaa", 2), "bba");
  EXPECT_EQ(sub("x*", "-", "abxd"), "-a-b--d-");
  EXPECT_EQ(sub("(a)|(b)", R"([\1\2])", "ab"), "[a][b]");  // a group that took no part is empty
  EXPECT_EQ(sub(R"(\.)", R"(\.\n\\)", "a.b"), "a\\.\n\\b");
  EXPECT_EQ(sub("(?s)b.*", "", "ab\nc"), "a");
  auto error_of = [&](const std::string& r) {
    try {
      sub("(a)(b)", r, "ab");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of(R"(\q)").find("repl: replacement '\\q': escape \\q is not supported"), std::string::npos);
  EXPECT_NE(error_of(R"(\3)").find("names group 3, the pattern has 2"), std::string::npos);
  EXPECT_NE(error_of(R"(\g<name>)").find("numbered group"), std::string::npos);
  EXPECT_NE(error_of("x\\").find("ends in a backslash"), std::string::npos);
}

TEST(EvalExtract, StopStringsLossyUtf8AndStrip) {
  EXPECT_EQ(eval::cut_at_stop("12\n\nQuestion: x</s>", {"Question:", "</s>"}), "12\n\n");
  EXPECT_EQ(eval::cut_at_stop("a</s>b Question:", {"Question:", "</s>"}), "a");  // the earliest of any
  EXPECT_EQ(eval::cut_at_stop("abc", {"Q"}), "abc");
  // One U+FFFD per maximal ill-formed subpart (CPython's bytes.decode(errors="replace")).
  EXPECT_EQ(eval::utf8_lossy("a\xED\x95" "b\xF0\x9F\x98\xC3(\xFF"),
            "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD");
  EXPECT_EQ(eval::utf8_lossy("한국"), "한국");
  EXPECT_EQ(eval::python_strip("\u3000 x y\n\t"), "x y");
}

TEST(EvalExtract, KorquadScriptNormalisationExactMatchAndF1) {
  // Expected values from KorQuAD 1.0's evaluation functions (normalize_answer,
  // exact_match_score, f1_score) in CPython 3.11 on the same strings.
  EXPECT_EQ(eval::korquad_normalize(" 《세종대왕》은"), "세종대왕 은");  // the brackets become spaces
  EXPECT_FALSE(eval::korquad_exact_match(" 《세종대왕》은", "세종대왕은"));
  EXPECT_DOUBLE_EQ(eval::korquad_f1(" 《세종대왕》은", "세종대왕은"), 1.0);  // characters, spaces aside
  EXPECT_EQ(eval::korquad_normalize("1443년(세종 25년)"), "1443년 세종 25년");
  EXPECT_DOUBLE_EQ(eval::korquad_f1("1443년(세종 25년)", "1443년"), 2.0 / 3);
  EXPECT_EQ(eval::korquad_normalize("  The  Korean-Alphabet!"), "the koreanalphabet");  // '-' dropped, not spaced
  EXPECT_DOUBLE_EQ(eval::korquad_f1("  The  Korean-Alphabet!", "the korean alphabet"), 1.0);
  EXPECT_TRUE(eval::korquad_exact_match("한글\u3000창제", "한글 창제"));  // str.split: Unicode spaces
  EXPECT_TRUE(eval::korquad_exact_match("‘한양’", "한양"));
  EXPECT_TRUE(eval::korquad_exact_match("ÄB", "äb"));
  EXPECT_DOUBLE_EQ(eval::korquad_f1("훈민정음", "용비어천가"), 0.0);
  EXPECT_DOUBLE_EQ(eval::korquad_f1("", "서울"), 0.0);
  EXPECT_FALSE(eval::korquad_exact_match("", "서울"));
}

}  // namespace extract_test
