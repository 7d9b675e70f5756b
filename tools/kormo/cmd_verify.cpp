// kormo verify: recompute the content hashes a run manifest records.
#include <fmt/format.h>

#include "kormo/run/run.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "kormo/util/manifest.h"
#include "verb.h"

namespace cmd_verify {

void setup_verify(CLI::App& app) {
  static std::string manifest;
  app.add_option("manifest", manifest, "A run's manifest.json (or its run directory)")->required();
  app.footer(
      "Rehashes every input and output recorded in the manifest and lists what changed or is missing.\n"
      "Exit status 0 means every file still matches. A manifest whose stages are not the ones its run\n"
      "planned (those its recorded config asks for, or the first of them for --until) is refused.\n\nExample:\n  kormo verify runs/demo/manifest.json");
  app.callback([] {
    std::string path = manifest;
    if (path.size() < 5 || path.substr(path.size() - 5) != ".json") path += "/manifest.json";
    // The stages its config asks for (optional stages and pretraining phases vary by config).
    const nlohmann::json m = kormo::parse_json_or_discarded(kormo::read_file(path));
    const std::vector<std::string> stage_order =
        m.is_object() && m.contains("config") && m["config"].is_object() ? kormo::run::stage_names(m["config"])
                                                                          : std::vector<std::string>{};
    auto problems = kormo::verify_manifest(path, stage_order);
    for (const auto& p : problems) fmt::print("{}: {}: {}\n", p.stage, p.path, p.what);
    if (!problems.empty()) kormo::fail("{}: {} file(s) do not match the manifest", path, problems.size());
    fmt::print("{}: all recorded files match\n", path);
  });
}

KORMO_VERB("verify", "Check a run's files against the hashes in its manifest.json", 99, setup_verify);

}  // namespace cmd_verify
