#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "core/config.h"
#include "core/error.h"
#include "core_test_util.h"

namespace elm {
namespace {

using test::error_of;
using test::ScratchDir;

using Args = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Defaults and schema

TEST(ConfigDefaults, EveryKeyHasItsDefault) {
  Config c;
  EXPECT_EQ(c.get_string("model.qwen3_model_path"), "");
  EXPECT_EQ(c.get_string("model.dtype"), "float32");
  EXPECT_EQ(c.get_int("runtime.threads"), 0);
  EXPECT_EQ(c.get_int("runtime.seed"), 42);
  EXPECT_EQ(c.get_string("logging.level"), "info");
  EXPECT_EQ(c.get_string("logging.file_level"), "debug");
  EXPECT_FALSE(c.get_bool("logging.all_ranks_console"));
  EXPECT_EQ(c.get_string("run.dir"), "");
  EXPECT_EQ(c.get_string("run.name"), "");
  EXPECT_EQ(c.get_int("generation.max_new_tokens"), 64);
  EXPECT_FALSE(c.get_bool("generation.greedy"));
  EXPECT_DOUBLE_EQ(c.get_float("generation.temperature"), 0.6);
  EXPECT_DOUBLE_EQ(c.get_float("generation.top_p"), 0.95);
  EXPECT_EQ(c.get_int("generation.top_k"), 20);
  EXPECT_DOUBLE_EQ(c.get_float("generation.repetition_penalty"), 1.0);
  EXPECT_TRUE(c.get_bool("generation.use_kv_cache"));
  EXPECT_FALSE(c.get_bool("generation.chat"));
  EXPECT_FALSE(c.get_bool("generation.enable_thinking"));
  for (const auto& k : c.schema().keys()) {
    EXPECT_EQ(c.origin(k.name), "default") << k.name;
    EXPECT_EQ(c.get(k.name), k.default_value) << k.name;
    EXPECT_FALSE(k.help.empty()) << k.name;
  }
  EXPECT_TRUE(c.non_default_lines().empty());
}

TEST(ConfigDefaults, SectionsInTableOrder) {
  EXPECT_EQ(ConfigSchema::builtin().sections(),
            (Args{"model", "memory", "runtime", "logging", "run", "generation", "data", "training", "checkpoint", "eval",
                  "parallel", "extractor", "inference"}));
}

TEST(ConfigSchema, RejectsMalformedDuplicateAndInvalidDefaults) {
  ConfigSchema s;
  s.add(key_int("a.b", 1, "help"));
  EXPECT_CONTAINS(error_of([&] { s.add(key_int("a.b", 2, "again")); }), "duplicate key 'a.b'");
  EXPECT_CONTAINS(error_of([&] { s.add(key_int("nodot", 1, "h")); }), "malformed key name");
  EXPECT_CONTAINS(error_of([&] { s.add(key_int("a.b.c", 1, "h")); }), "malformed key name");
  EXPECT_CONTAINS(error_of([&] { s.add(key_int("A.b", 1, "h")); }), "malformed key name");
  EXPECT_CONTAINS(error_of([&] { s.add(key_int("a.neg", -1, "h").at_least(0)); }), "must be >= 0");
  EXPECT_CONTAINS(error_of([&] { s.add(key_string("a.c", "x", "h").one_of({"y", "z"})); }), "one of: y, z");
  ConfigKey wrong = key_int("a.w", 1, "h");
  wrong.type = ConfigType::Float;
  EXPECT_CONTAINS(error_of([&] { s.add(wrong); }), "expected float");
  EXPECT_EQ(s.keys().size(), 1u);
}

TEST(ConfigSchema, EditDistanceCountsTranspositionsOnce) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("dtpye", "dtype"), 1u);
  EXPECT_EQ(edit_distance("knowlege", "knowledge"), 1u);
}

TEST(ConfigSchema, ClosestKeySuggestsOnlyNearNames) {
  const auto& s = ConfigSchema::builtin();
  EXPECT_EQ(s.closest_key("model.dtpye"), "model.dtype");
  EXPECT_EQ(s.closest_key("modle.dtype"), "model.dtype");
  EXPECT_EQ(s.closest_key("generation.top-k"), "generation.top_k");
  EXPECT_EQ(s.closest_key("runtime.dtype"), "model.dtype");  // right key, wrong section
  EXPECT_EQ(s.closest_key("zzzzzz.qqqqqqqq"), "");
  EXPECT_EQ(s.closest_section("genration"), "generation");
  EXPECT_EQ(s.closest_section("xyzzy"), "");
}

TEST(ConfigSchema, DescribeListsEveryKey) {
  const auto& s = ConfigSchema::builtin();
  std::string text = s.describe();
  for (const auto& k : s.keys()) EXPECT_CONTAINS(text, k.name);
  EXPECT_CONTAINS(text, "one of: float32, bfloat16");
  EXPECT_CONTAINS(text, "in (0, 1]");
}

// ---------------------------------------------------------------------------------------------
// Files

TEST(ConfigFile, LoadsSectionsAndRecordsFileLine) {
  ScratchDir dir;
  auto path = dir.write("a.toml",
                        "# comment\n"
                        "[model]\n"
                        "dtype = \"bfloat16\"\n"
                        "qwen3_model_path = \"/models/qwen3\"\n"
                        "\n"
                        "[generation]\n"
                        "temperature = 1   # an integer where a float is expected: promoted\n"
                        "greedy = true\n"
                        "top_k = 5\n");
  Config c;
  c.load_file(path);
  EXPECT_EQ(c.get_string("model.dtype"), "bfloat16");
  EXPECT_EQ(c.get_string("model.qwen3_model_path"), "/models/qwen3");
  EXPECT_DOUBLE_EQ(c.get_float("generation.temperature"), 1.0);
  EXPECT_TRUE(c.get_bool("generation.greedy"));
  EXPECT_EQ(c.get_int("generation.top_k"), 5);
  EXPECT_EQ(c.origin("model.dtype"), path + ":3");
  EXPECT_EQ(c.origin("generation.top_k"), path + ":9");
  EXPECT_EQ(c.origin("runtime.seed"), "default");
  EXPECT_EQ(c.get_int("runtime.seed"), 42);
  EXPECT_EQ(c.non_default_lines().size(), 5u);
}

TEST(ConfigFile, TopLevelDottedKeysAreSectionKeys) {
  Config c;
  c.load_string("generation.top_k = 3\nruntime.seed = 7\n", "inline.toml");
  EXPECT_EQ(c.get_int("generation.top_k"), 3);
  EXPECT_EQ(c.get_int("runtime.seed"), 7);
  EXPECT_EQ(c.origin("runtime.seed"), "inline.toml:2");
}

TEST(ConfigFile, LaterFileWins) {
  Config c;
  c.load_string("[runtime]\nseed = 1\nthreads = 4\n", "first");
  c.load_string("[runtime]\nseed = 2\n", "second");
  EXPECT_EQ(c.get_int("runtime.seed"), 2);
  EXPECT_EQ(c.get_int("runtime.threads"), 4);
  EXPECT_EQ(c.origin("runtime.seed"), "second:2");
}

TEST(ConfigFile, MissingFileIsNamed) {
  Config c;
  auto msg = error_of([&] { c.load_file("/nonexistent/dir/cfg.toml"); });
  EXPECT_CONTAINS(msg, "/nonexistent/dir/cfg.toml");
  EXPECT_CONTAINS(msg, "not found");
}

TEST(ConfigFile, UnknownKeyNamesKeyLineAndSuggestion) {
  ScratchDir dir;
  auto path = dir.write("bad.toml", "[model]\ndtype = \"float32\"\ndtpye = \"bfloat16\"\n");
  Config c;
  auto msg = error_of([&] { c.load_file(path); });
  EXPECT_CONTAINS(msg, path + ":3");
  EXPECT_CONTAINS(msg, "unknown config key 'model.dtpye' (did you mean 'model.dtype'?)");
}

TEST(ConfigFile, UnknownSectionIsAnError) {
  Config c;
  auto msg = error_of([&] { c.load_string("[modle]\ndtype = \"bfloat16\"\n", "s.toml"); });
  EXPECT_CONTAINS(msg, "s.toml:2");
  EXPECT_CONTAINS(msg, "'modle.dtype'");
  EXPECT_CONTAINS(msg, "did you mean 'model.dtype'?");

  msg = error_of([&] { c.load_string("[genration]\n", "e.toml"); });
  EXPECT_CONTAINS(msg, "e.toml:1");
  EXPECT_CONTAINS(msg, "unknown config section 'genration' (did you mean 'generation'?)");

  msg = error_of([&] { c.load_string("[xyzzy]\nfoo = 1\n", "x.toml"); });
  EXPECT_CONTAINS(msg, "unknown config key 'xyzzy.foo'");
  EXPECT_CONTAINS(msg, "sections: model, memory, runtime");
}

TEST(ConfigFile, UnknownKeyInKnownSectionListsItsKeysWhenNothingIsClose) {
  Config c;
  auto msg = error_of([&] { c.load_string("[run]\nq = 1\n", "m.toml"); });
  EXPECT_CONTAINS(msg, "unknown config key 'run.q' (keys in [run]: dir, name)");
}

TEST(ConfigFile, TopLevelValueOutsideSectionIsAnError) {
  Config c;
  auto msg = error_of([&] { c.load_string("\ndtype = \"bfloat16\"\n", "top.toml"); });
  EXPECT_CONTAINS(msg, "top.toml:2");
  EXPECT_CONTAINS(msg, "'dtype' is not inside a [section]");
  EXPECT_CONTAINS(msg, "did you mean 'model.dtype'?");
}

TEST(ConfigFile, TypeErrorNamesFileLineKeyAndTypes) {
  ScratchDir dir;
  auto path = dir.write("type.toml", "[runtime]\nthreads = 2\nseed = \"abc\"\n");
  Config c;
  auto msg = error_of([&] { c.load_file(path); });
  EXPECT_CONTAINS(msg, path + ":3:");
  EXPECT_CONTAINS(msg, "'runtime.seed'");
  EXPECT_CONTAINS(msg, "expects an integer");
  EXPECT_CONTAINS(msg, "got a string");
}

TEST(ConfigFile, FloatWhereIntExpectedIsAnError) {
  Config c;
  auto msg = error_of([&] { c.load_string("[generation]\ntop_k = 2.5\n", "f.toml"); });
  EXPECT_CONTAINS(msg, "f.toml:2:");
  EXPECT_CONTAINS(msg, "'generation.top_k' expects an integer");
  EXPECT_CONTAINS(msg, "got a float");
}

TEST(ConfigFile, WrongTypesForBoolAndString) {
  Config c;
  EXPECT_CONTAINS(error_of([&] { c.load_string("[generation]\ngreedy = 1\n", "b.toml"); }), "'generation.greedy' expects a boolean");
  EXPECT_CONTAINS(error_of([&] { c.load_string("[model]\ndtype = [\"a\"]\n", "s.toml"); }), "got an array");
  EXPECT_CONTAINS(error_of([&] { c.load_string("[model]\ndtype = { a = 1 }\n", "t.toml"); }), "got a table");
}

TEST(ConfigFile, SyntaxErrorNamesFileLineColumn) {
  ScratchDir dir;
  auto path = dir.write("syntax.toml", "[model]\ndtype = \"float32\"\nqwen3_model_path = \"unterminated\n");
  Config c;
  auto msg = error_of([&] { c.load_file(path); });
  EXPECT_TRUE(std::regex_search(msg, std::regex(std::regex_replace(
                                         path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                                     ":3:[0-9]+: TOML syntax error")))
      << msg;
}

TEST(ConfigFile, BadFileLeavesConfigUntouched) {
  Config c;
  EXPECT_THROW(c.load_string("[runtime]\nseed = 5\nthreads = -1\n", "neg.toml"), Error);
  EXPECT_EQ(c.get_int("runtime.seed"), 42);
  EXPECT_EQ(c.origin("runtime.seed"), "default");
}

TEST(ConfigFile, ShippedTinyConfigLoads) {
  Config c;
  c.load_file(std::string(ELM_SOURCE_DIR) + "/configs/tiny.toml");
  EXPECT_EQ(c.get_string("model.qwen3_model_path"), "build/demo/seed0/runs/backbone/backbone");
  EXPECT_EQ(c.get_string("training.stage"), "joint");
  EXPECT_EQ(c.get_string("data.format"), "qa");
}

TEST(ConfigFile, EveryShippedConfigLoadsAndSetsWhatItSays) {
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(ELM_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".toml") continue;
    if (entry.path().filename().string().rfind("sweep-", 0) == 0) continue;  // sweep files: test_sweep.cpp
    Config c;
    EXPECT_NO_THROW(c.load_file(entry.path().string())) << entry.path();
    EXPECT_FALSE(c.non_default_lines().empty()) << entry.path() << " sets nothing";
    ++loaded;
  }
  EXPECT_GE(loaded, 2);
}

// ---------------------------------------------------------------------------------------------
// Command line

TEST(ConfigCli, BothSpellingsAndRestInOrder) {
  Config c;
  auto rest = c.apply_cli({"generate", "--generation.top_k", "9", "positional", "runtime.seed=7",
                           "--model.dtype=bfloat16", "--verbose", "x", "--unknown.thing", "1"});
  EXPECT_EQ(c.get_int("generation.top_k"), 9);
  EXPECT_EQ(c.get_int("runtime.seed"), 7);
  EXPECT_EQ(c.get_string("model.dtype"), "bfloat16");
  EXPECT_EQ(c.origin("generation.top_k"), "command line");
  EXPECT_EQ(c.origin("model.dtype"), "command line");
  // Options whose section is not a config section are not ours: they stay, in order.
  EXPECT_EQ(rest, (Args{"generate", "positional", "--verbose", "x", "--unknown.thing", "1"}));
}

TEST(ConfigCli, DoubleDashEndsConfigArguments) {
  Config c;
  auto rest = c.apply_cli({"a", "--", "runtime.seed=7", "--generation.top_k", "3"});
  EXPECT_EQ(c.get_int("runtime.seed"), 42);
  EXPECT_EQ(c.get_int("generation.top_k"), 20);
  EXPECT_EQ(rest, (Args{"a", "--", "runtime.seed=7", "--generation.top_k", "3"}));
}

TEST(ConfigCli, NonKeyTokensWithEqualsStay) {
  Config c;
  auto rest = c.apply_cli({"What is 2+2=?", "a=b", "-x=1", "path/to.file=3"});
  EXPECT_EQ(rest, (Args{"What is 2+2=?", "a=b", "-x=1", "path/to.file=3"}));
  EXPECT_TRUE(c.non_default_lines().empty());
}

TEST(ConfigCli, MissingValueForOptionIsAnError) {
  Config c;
  auto msg = error_of([&] { c.apply_cli({"--runtime.seed"}); });
  EXPECT_CONTAINS(msg, "'--runtime.seed' needs a value");
}

TEST(ConfigCli, NegativeNumberAsSeparateValue) {
  Config c;
  c.apply_cli({"--runtime.seed", "-5"});
  EXPECT_EQ(c.get_int("runtime.seed"), -5);
}

TEST(ConfigCli, UnknownKeyNamesKeyAndSuggestion) {
  Config c;
  auto msg = error_of([&] { c.apply_cli({"model.dtpye=bfloat16"}); });
  EXPECT_CONTAINS(msg, "model.dtpye=bfloat16");
  EXPECT_CONTAINS(msg, "unknown config key 'model.dtpye' (did you mean 'model.dtype'?)");
  msg = error_of([&] { c.apply_cli({"--generation.topk", "3"}); });
  EXPECT_CONTAINS(msg, "unknown config key 'generation.topk' (did you mean 'generation.top_k'?)");
}

TEST(ConfigCli, UnknownSectionInBareOverrideIsAnError) {
  Config c;
  auto msg = error_of([&] { c.apply_cli({"modle.dtype=bfloat16"}); });
  EXPECT_CONTAINS(msg, "unknown config key 'modle.dtype' (did you mean 'model.dtype'?)");
}

TEST(ConfigCli, BadValueNamesTheOverride) {
  Config c;
  auto msg = error_of([&] { c.apply_override("runtime.seed=abc"); });
  EXPECT_CONTAINS(msg, "'runtime.seed=abc'");
  EXPECT_CONTAINS(msg, "expected an integer");
  msg = error_of([&] { c.apply_cli({"--generation.greedy", "maybe"}); });
  EXPECT_CONTAINS(msg, "'generation.greedy=maybe'");
  EXPECT_CONTAINS(msg, "expected true, false, 1 or 0");
  msg = error_of([&] { c.apply_override("generation.top_k=2.5"); });
  EXPECT_CONTAINS(msg, "'generation.top_k=2.5'");
  msg = error_of([&] { c.apply_override("generation.temperature=warm"); });
  EXPECT_CONTAINS(msg, "expected a number");
  msg = error_of([&] { c.apply_override("runtime.seed"); });
  EXPECT_CONTAINS(msg, "expected section.key=value");
  msg = error_of([&] { c.apply_override("runtime.seed=99999999999999999999999"); });
  EXPECT_CONTAINS(msg, "out of range");
  EXPECT_EQ(c.get_int("runtime.seed"), 42);
}

TEST(ConfigCli, ValueParsingByType) {
  Config c;
  c.apply_override("generation.greedy=1");
  EXPECT_TRUE(c.get_bool("generation.greedy"));
  c.apply_override("generation.greedy=FALSE");
  EXPECT_FALSE(c.get_bool("generation.greedy"));
  c.apply_override("generation.chat=true");
  EXPECT_TRUE(c.get_bool("generation.chat"));
  c.apply_override("runtime.seed=+1_000_000");
  EXPECT_EQ(c.get_int("runtime.seed"), 1000000);
  c.apply_override("generation.temperature=1");  // int text for a float key
  EXPECT_DOUBLE_EQ(c.get_float("generation.temperature"), 1.0);
  c.apply_override("generation.top_p=.5");
  EXPECT_DOUBLE_EQ(c.get_float("generation.top_p"), 0.5);
  c.apply_override("generation.repetition_penalty=1.1e0");
  EXPECT_DOUBLE_EQ(c.get_float("generation.repetition_penalty"), 1.1);
  c.apply_override("run.name=my run = 1");  // first '=' splits; the rest is the string as-is
  EXPECT_EQ(c.get_string("run.name"), "my run = 1");
  c.apply_override("run.name=\"quoted \\\"q\\\"\"");
  EXPECT_EQ(c.get_string("run.name"), "quoted \"q\"");
  c.apply_override("run.name='single'");
  EXPECT_EQ(c.get_string("run.name"), "single");
  c.apply_override("run.name=");
  EXPECT_EQ(c.get_string("run.name"), "");
  c.apply_override(" runtime.threads = 3 ", "sweep.txt:4");
  EXPECT_EQ(c.get_int("runtime.threads"), 3);
  EXPECT_EQ(c.origin("runtime.threads"), "sweep.txt:4");
}

TEST(ConfigCli, ChoicesAndRangesAreValidated) {
  Config c;
  auto msg = error_of([&] { c.apply_override("model.dtype=float16"); });
  EXPECT_CONTAINS(msg, "'model.dtype' = \"float16\" must be one of: float32, bfloat16");
  c.apply_override("model.dtype=bfloat16");
  EXPECT_EQ(c.get_string("model.dtype"), "bfloat16");
  EXPECT_THROW(c.apply_override("logging.level=loud"), Error);
  EXPECT_CONTAINS(error_of([&] { c.apply_override("generation.top_p=0"); }), "must be in (0, 1]");
  EXPECT_THROW(c.apply_override("generation.top_p=1.01"), Error);
  c.apply_override("generation.top_p=1");
  EXPECT_DOUBLE_EQ(c.get_float("generation.top_p"), 1.0);
  EXPECT_CONTAINS(error_of([&] { c.apply_override("generation.temperature=-0.1"); }), "must be >= 0");
  c.apply_override("generation.temperature=0");
  EXPECT_THROW(c.apply_override("runtime.threads=-2"), Error);
  EXPECT_THROW(c.apply_override("logging.level=verbose"), Error);
  c.apply_override("logging.level=warning");
  EXPECT_EQ(c.get_string("logging.level"), "warning");
  // A choice violated in a file names file:line.
  msg = error_of([&] { c.load_string("[model]\n\ndtype = \"fp16\"\n", "choice.toml"); });
  EXPECT_CONTAINS(msg, "choice.toml:3: config key 'model.dtype' = \"fp16\" must be one of");
}

TEST(ConfigCli, PrecedenceCliOverFileInBothOrders) {
  ScratchDir dir;
  auto path = dir.write("p.toml", "[generation]\ntop_k = 5\ntemperature = 0.9\n[runtime]\nseed = 3\n");
  for (const Args& args : {Args{"--config", path, "generation.top_k=7", "cmd"},
                           Args{"generation.top_k=7", "cmd", "--config", path},
                           Args{"--generation.top_k", "7", "--config=" + path, "cmd"}}) {
    Args rest;
    Config c = Config::from_cli(args, &rest);
    EXPECT_EQ(c.get_int("generation.top_k"), 7);
    EXPECT_EQ(c.origin("generation.top_k"), "command line");
    EXPECT_DOUBLE_EQ(c.get_float("generation.temperature"), 0.9);
    EXPECT_EQ(c.origin("generation.temperature"), path + ":3");
    EXPECT_EQ(c.get_int("runtime.seed"), 3);
    EXPECT_EQ(rest, (Args{"cmd"}));
  }
}

TEST(ConfigCli, FileLoadedAfterOverrideDoesNotUndoIt) {
  Config c;
  c.apply_cli({"generation.top_k=7"});
  c.load_string("[generation]\ntop_k = 5\ntop_p = 0.5\n", "late.toml");
  EXPECT_EQ(c.get_int("generation.top_k"), 7);
  EXPECT_DOUBLE_EQ(c.get_float("generation.top_p"), 0.5);
  // ... but the file is still validated.
  EXPECT_THROW(c.load_string("[generation]\ntop_k = \"x\"\n", "bad.toml"), Error);
}

TEST(ConfigCli, FromCliErrors) {
  EXPECT_CONTAINS(error_of([] { Config::from_cli({"--config"}); }), "--config needs a file name");
  EXPECT_CONTAINS(error_of([] { Config::from_cli({"--config", "/no/such.toml"}); }), "config file not found: /no/such.toml");
  Args rest;
  Config c = Config::from_cli({"a", "--", "--config", "x"}, &rest);
  EXPECT_EQ(rest, (Args{"a", "--", "--config", "x"}));
}

// ---------------------------------------------------------------------------------------------
// Getters, set(), to_toml

TEST(ConfigAccess, WrongGetterOrUnknownKeyIsAnError) {
  Config c;
  EXPECT_CONTAINS(error_of([&] { c.get_int("model.dtype"); }), "'model.dtype' has type string, but was read as int");
  EXPECT_THROW(c.get_bool("runtime.seed"), Error);
  EXPECT_THROW(c.get_float("runtime.seed"), Error);
  EXPECT_THROW(c.get_string_list("model.dtype"), Error);
  EXPECT_CONTAINS(error_of([&] { c.get_int("runtime.sed"); }), "unknown config key 'runtime.sed' (did you mean 'runtime.seed'?)");
  EXPECT_THROW(c.origin("nope.nope"), Error);
}

TEST(ConfigAccess, SetChecksTypeAndValidation) {
  Config c;
  c.set("runtime.seed", std::int64_t{5});
  EXPECT_EQ(c.get_int("runtime.seed"), 5);
  EXPECT_EQ(c.origin("runtime.seed"), "program");
  c.set("generation.temperature", std::int64_t{1}, "test");  // int promoted to float
  EXPECT_DOUBLE_EQ(c.get_float("generation.temperature"), 1.0);
  EXPECT_EQ(c.origin("generation.temperature"), "test");
  c.set("model.dtype", std::string("bfloat16"));
  EXPECT_EQ(c.get_string("model.dtype"), "bfloat16");
  // Plain literals pick the right alternative (int -> int, bool -> bool, const char* -> string).
  c.set("generation.top_k", 7);
  EXPECT_EQ(c.get_int("generation.top_k"), 7);
  c.set("generation.greedy", true);
  EXPECT_TRUE(c.get_bool("generation.greedy"));
  c.set("run.name", "literal");
  EXPECT_EQ(c.get_string("run.name"), "literal");
  c.set("generation.top_p", 0.5f);
  EXPECT_DOUBLE_EQ(c.get_float("generation.top_p"), 0.5);
  EXPECT_CONTAINS(error_of([&] { c.set("runtime.seed", 1.5); }), "has type int, got float");
  EXPECT_THROW(c.set("model.dtype", std::string("int8")), Error);
  EXPECT_THROW(c.set("generation.greedy", std::string("true")), Error);
  // set() is the top layer: a later file or override does not replace it.
  c.apply_override("runtime.seed=9");
  EXPECT_EQ(c.get_int("runtime.seed"), 5);
}

TEST(ConfigToml, RoundTripsEveryValue) {
  Config c;
  c.apply_cli({"model.dtype=bfloat16", "model.qwen3_model_path=/p/with \"quote\" and \\ and\ttab",
               "runtime.seed=-123456789012", "generation.temperature=0.1", "generation.top_p=0.3",
               "generation.repetition_penalty=1e10", "generation.greedy=true", "run.name=ünïcode ✓"});
  std::string text = c.to_toml("line one\n\nline three");
  EXPECT_EQ(text.rfind("# line one\n#\n# line three\n", 0), 0u) << text;
  EXPECT_CONTAINS(text, "[model]\n# Hugging Face Qwen3 model directory");
  EXPECT_CONTAINS(text, "temperature = 0.1\n");
  EXPECT_CONTAINS(text, "repetition_penalty = 1e+10\n");
  EXPECT_CONTAINS(text, "top_k = 20\n");
  EXPECT_CONTAINS(text, "dtype = \"bfloat16\"\n");

  Config back;
  back.load_string(text, "resolved.toml");
  EXPECT_TRUE(back == c);
  EXPECT_EQ(back.get_string("model.qwen3_model_path"), "/p/with \"quote\" and \\ and\ttab");
  EXPECT_EQ(back.get_int("runtime.seed"), -123456789012);
  EXPECT_EQ(back.to_toml("line one\n\nline three"), text);
  // Every key is written, with an origin in the file.
  for (const auto& k : back.schema().keys()) {
    EXPECT_CONTAINS(back.origin(k.name), "resolved.toml:") << k.name;
  }
  Config different = back;
  different.set("runtime.seed", std::int64_t{1});
  EXPECT_TRUE(different != back);
}

TEST(ConfigToml, FloatsWithoutFractionStayFloats) {
  Config c;
  c.set("generation.temperature", 2.0);
  EXPECT_CONTAINS(c.to_toml(), "temperature = 2.0\n");
  Config back;
  back.load_string(c.to_toml());
  EXPECT_DOUBLE_EQ(back.get_float("generation.temperature"), 2.0);
  EXPECT_EQ(c.value_text("generation.temperature"), "2.0");
  EXPECT_EQ(c.value_text("model.dtype"), "\"float32\"");
}

TEST(ConfigToml, WriteTomlIsAtomicAndReadable) {
  ScratchDir dir;
  Config c;
  c.apply_override("runtime.seed=11");
  auto path = dir.path("resolved.toml");
  c.write_toml(path, "header");
  Config back;
  back.load_file(path);
  EXPECT_TRUE(back == c);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.root())) {
    ++files;
    EXPECT_EQ(e.path().filename(), "resolved.toml");
  }
  EXPECT_EQ(files, 1);  // no temporary left behind
  EXPECT_THROW(c.write_toml(dir.path("missing-dir/x.toml")), Error);
}

// ---------------------------------------------------------------------------------------------
// Lists (no built-in key is a list yet: a private schema)

const ConfigSchema& list_schema() {
  static const ConfigSchema s = [] {
    ConfigSchema s;
    s.add(key_int_list("train.layers", {1, 2}, "memory layers").at_least(0));
    s.add(key_string_list("train.tags", {}, "tags"));
    s.add(key_string_list("train.modes", {"a"}, "modes").one_of({"a", "b", "c"}));
    s.add(key_float("train.lr", 1e-4, "learning rate").greater_than(0));
    return s;
  }();
  return s;
}

TEST(ConfigLists, ParseCommaSeparatedAndTomlArrays) {
  Config c(list_schema());
  EXPECT_EQ(c.get_int_list("train.layers"), (std::vector<std::int64_t>{1, 2}));
  EXPECT_TRUE(c.get_string_list("train.tags").empty());
  c.apply_override("train.layers=3, 5,7");
  EXPECT_EQ(c.get_int_list("train.layers"), (std::vector<std::int64_t>{3, 5, 7}));
  c.apply_override("train.layers=[8, 9]");
  EXPECT_EQ(c.get_int_list("train.layers"), (std::vector<std::int64_t>{8, 9}));
  c.apply_override("train.layers=");
  EXPECT_TRUE(c.get_int_list("train.layers").empty());
  c.apply_override("train.layers=[]");
  EXPECT_TRUE(c.get_int_list("train.layers").empty());
  c.apply_override("train.layers=4");
  EXPECT_EQ(c.get_int_list("train.layers"), (std::vector<std::int64_t>{4}));
  c.apply_override("train.tags=x, y z ,\"a,b\"");
  EXPECT_EQ(c.get_string_list("train.tags"), (Args{"x", "y z", "\"a", "b\""}));
  c.apply_override("train.tags=[\"a,b\", 'c']");
  EXPECT_EQ(c.get_string_list("train.tags"), (Args{"a,b", "c"}));
  c.apply_cli({"--train.tags", "p,q"});
  EXPECT_EQ(c.get_string_list("train.tags"), (Args{"p", "q"}));
  EXPECT_CONTAINS(error_of([&] { c.apply_override("train.layers=1,x"); }), "expected an integer");
  EXPECT_CONTAINS(error_of([&] { c.apply_override("train.layers=[1, \"x\"]"); }), "element 1 is a string");
  EXPECT_CONTAINS(error_of([&] { c.apply_override("train.layers=1,-1"); }), "every element must be >= 0 (got -1)");
  EXPECT_CONTAINS(error_of([&] { c.apply_override("train.modes=a,z"); }), "every element must be one of: a, b, c");
  EXPECT_CONTAINS(error_of([&] { c.apply_override("train.tags=a,,b"); }), "empty element");
  EXPECT_CONTAINS(error_of([&] { c.apply_override("train.layers=[1,"); }), "not a valid TOML value");
}

TEST(ConfigLists, FileArraysAndRoundTrip) {
  Config c(list_schema());
  c.load_string("[train]\nlayers = [0, 10, 20]\ntags = [\"x\", \"y\"]\nmodes = [\"b\", \"c\"]\nlr = 3\n",
                "lists.toml");
  EXPECT_EQ(c.get_int_list("train.layers"), (std::vector<std::int64_t>{0, 10, 20}));
  EXPECT_EQ(c.get_string_list("train.tags"), (Args{"x", "y"}));
  EXPECT_DOUBLE_EQ(c.get_float("train.lr"), 3.0);
  EXPECT_CONTAINS(error_of([&] { c.load_string("[train]\nlayers = [1, 2.5]\n", "l.toml"); }),
                  "l.toml:2: config key 'train.layers' expects an array of integers (int list), "
                  "got an array whose element 1 is a float");
  EXPECT_CONTAINS(error_of([&] { c.load_string("[train]\ntags = \"x\"\n", "l.toml"); }), "expects an array of strings");
  Config back(list_schema());
  back.load_string(c.to_toml());
  EXPECT_TRUE(back == c);
  EXPECT_CONTAINS(c.to_toml(), "layers = [0, 10, 20]\n");
  EXPECT_CONTAINS(c.to_toml(), "tags = [\"x\", \"y\"]\n");
  // Configs over different schemas are never equal.
  EXPECT_FALSE(back == Config());
}

}  // namespace
}  // namespace elm
