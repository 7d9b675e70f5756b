# The include check: every #include "kormo/<dir>/..." under <root>/kormo must follow
# the module arrows declared with kormo_module() in src/CMakeLists.txt.
#
# A file of module M may include M itself, the modules M lists (PUBLIC or PRIVATE)
# and, transitively, what those list PUBLIC — exactly what linking them exposes.
# A header of M may include only M, its PUBLIC modules and what they list PUBLIC,
# since every dependent of M compiles it. Generated top-level headers
# (kormo/version.h) belong to no module and may be included anywhere.
#
# Included by cmake/KormoModules.cmake (configure time), or run as a script:
#   cmake -DRULES=build/generated/layering_rules.cmake -DROOT=src -P cmake/check_layering.cmake
# Prints every violation as file:line and the forbidden arrow; fails if any.

cmake_policy(VERSION 3.25)

# <out> = the modules in ARGN plus everything they list PUBLIC, transitively.
function(_kormo_public_closure out)
  set(result)
  set(todo ${ARGN})
  while(todo)
    list(POP_FRONT todo m)
    if(NOT m IN_LIST result)
      list(APPEND result ${m})
      list(APPEND todo ${KORMO_${m}_PUBLIC})
    endif()
  endwhile()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# <out> = the module owning <path> (relative to kormo/): the longest module
# directory that contains it; empty when none does.
function(_kormo_owner out path)
  set(best "")
  set(best_len 0)
  foreach(m IN LISTS KORMO_MODULES)
    foreach(dir IN LISTS KORMO_${m}_DIRS)
      string(LENGTH "${dir}/" len)
      string(SUBSTRING "${path}" 0 ${len} head)
      if(head STREQUAL "${dir}/" AND len GREATER best_len)
        set(best ${m})
        set(best_len ${len})
      endif()
    endforeach()
  endforeach()
  set(${out} "${best}" PARENT_SCOPE)
endfunction()

# <out> = the lines of <path>, one list element each. Brackets, semicolons and
# backslashes would change how CMake splits the list; they are dropped (they never
# occur in what is looked for: includes of kormo/ and module table rows).
function(kormo_read_lines out path)
  file(READ ${path} content)
  string(REGEX REPLACE "[][;\\]" "" content "${content}")
  string(REPLACE "\n" ";" content "${content}")
  set(${out} "${content}" PARENT_SCOPE)
endfunction()

function(kormo_check_layering rules root)
  include(${rules})
  file(GLOB_RECURSE files RELATIVE ${root}/kormo
    ${root}/kormo/*.h ${root}/kormo/*.hpp ${root}/kormo/*.cpp ${root}/kormo/*.cu ${root}/kormo/*.cuh)
  list(SORT files)
  set(violations "")
  foreach(file IN LISTS files)
    set(where ${root}/kormo/${file})
    _kormo_owner(owner ${file})
    if(NOT owner)
      string(APPEND violations "${where}: no kormo_module() owns this directory\n")
      continue()
    endif()
    if(file MATCHES "\\.(h|hpp|cuh)$")
      set(kind "a header of ${owner}")
      _kormo_public_closure(allowed ${owner} ${KORMO_${owner}_PUBLIC})
    else()
      set(kind "${owner}")
      _kormo_public_closure(allowed ${owner} ${KORMO_${owner}_PUBLIC} ${KORMO_${owner}_PRIVATE})
    endif()

    kormo_read_lines(lines ${where})
    set(line_no 0)
    foreach(line IN LISTS lines)
      math(EXPR line_no "${line_no} + 1")
      if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*[<\"]kormo/([^\">]+)[\">]")
        continue()
      endif()
      set(included ${CMAKE_MATCH_1})
      if(NOT included MATCHES "/")
        continue()  # generated top-level header
      endif()
      _kormo_owner(target ${included})
      if(NOT target)
        string(APPEND violations "${where}:${line_no}: kormo/${included}: no kormo_module() owns this directory\n")
      elseif(NOT target IN_LIST allowed)
        list(JOIN allowed " " allowed_text)
        string(APPEND violations
          "${where}:${line_no}: ${owner} -> ${target} is not an allowed arrow (${kind} may include: ${allowed_text})\n")
      endif()
    endforeach()
  endforeach()
  if(violations)
    # NOTICE prints the lines as they are (FATAL_ERROR would re-wrap them).
    message(NOTICE "${violations}")
    message(FATAL_ERROR "module layering violated (the arrows are kormo_module() calls in src/CMakeLists.txt)")
  endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT RULES OR NOT ROOT)
    message(FATAL_ERROR "usage: cmake -DRULES=<layering_rules.cmake> -DROOT=<dir holding kormo/> -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
  get_filename_component(RULES ${RULES} ABSOLUTE)
  get_filename_component(ROOT ${ROOT} ABSOLUTE)
  kormo_check_layering(${RULES} ${ROOT})
endif()
