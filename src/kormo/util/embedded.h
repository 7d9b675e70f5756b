// Files compiled into the binary by kormo_embed() (cmake/KormoEmbed.cmake): each module
// that embeds files declares its table here, so the binary needs no data directory.
#pragma once

#include <cstddef>
#include <string_view>

namespace kormo {

struct EmbeddedFile {
  std::string_view name;  // the file's name, without its directory
  std::string_view data;
};

namespace embedded {
// src/kormo/eval/tasks/*.toml: the built-in evaluation tasks.
extern const EmbeddedFile eval_tasks[];
extern const size_t eval_tasks_count;
// src/kormo/serve/chat_page.html: the server's chat page.
extern const EmbeddedFile serve_page[];
extern const size_t serve_page_count;
}  // namespace embedded

}  // namespace kormo
