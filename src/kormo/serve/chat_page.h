// The chat page served at `/` (chat_page.html, compiled in by kormo_embed in src/CMakeLists.txt).
#pragma once

#include <string_view>

#include "kormo/util/embedded.h"

namespace kormo::serve {

inline std::string_view chat_page() { return embedded::serve_page[0].data; }

}  // namespace kormo::serve
