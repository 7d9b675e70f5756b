// The chat page served at `/` (chat_page.html, compiled in by src/CMakeLists.txt).
#pragma once

#include <string_view>

namespace kormo::serve {

std::string_view chat_page();

}  // namespace kormo::serve
