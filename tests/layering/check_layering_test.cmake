# Proves the include check (cmake/check_layering.cmake) catches what it must and
# nothing else: violations are planted in fixture trees under WORK, checked once
# against the real module arrows and once against a small table of its own that
# exercises every rule.
#   cmake -DCHECK=<check_layering.cmake> -DRULES=<layering_rules.cmake> -DWORK=<dir> -P check_layering_test.cmake
cmake_policy(VERSION 3.25)

# Runs the check on <root> against <rules>; the exit status goes to <rc>, the report to <out>.
function(run_check rc out rules root)
  execute_process(COMMAND ${CMAKE_COMMAND} -DRULES=${rules} -DROOT=${root} -P ${CHECK}
    RESULT_VARIABLE status OUTPUT_VARIABLE text ERROR_VARIABLE text)
  set(${rc} ${status} PARENT_SCOPE)
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# The check on <root> must fail, report every REPORTED text and none of the UNREPORTED ones.
function(expect_violations rules root)
  cmake_parse_arguments(PARSE_ARGV 2 E "" "" "REPORTED;UNREPORTED")
  run_check(rc out ${rules} ${root})
  if(rc EQUAL 0)
    message(FATAL_ERROR "the violations planted under ${root} passed the check:\n${out}")
  endif()
  foreach(text IN LISTS E_REPORTED E_UNREPORTED)
    string(FIND "${out}" "${text}" at)
    if(text IN_LIST E_REPORTED AND at EQUAL -1)
      message(FATAL_ERROR "the check did not report \"${text}\"; it said:\n${out}")
    elseif(text IN_LIST E_UNREPORTED AND NOT at EQUAL -1)
      message(FATAL_ERROR "the check wrongly reported \"${text}\"; it said:\n${out}")
    endif()
  endforeach()
endfunction()

function(plant root path text)
  file(WRITE ${root}/kormo/${path} "${text}")
endfunction()

file(REMOVE_RECURSE ${WORK})

# 1. The real arrows: model must never include run (run sits above everything).
set(real ${WORK}/real)
plant(${real} model/upward.cpp "// reaches up the stack\n#include \"kormo/run/run.h\"\n")
plant(${real} model/fine.cpp "#include \"kormo/util/error.h\"\n#include \"kormo/version.h\"\n")
expect_violations(${RULES} ${real}
  REPORTED "model/upward.cpp:2: model -> run is not an allowed arrow"
  UNREPORTED "fine.cpp")

# 2. A table of its own: base <- mid (PRIVATE, with a nested directory) <- top (PUBLIC mid).
set(rules ${WORK}/rules.cmake)
file(WRITE ${rules} [=[
set(KORMO_MODULES base mid top)
set(KORMO_base_DIRS base)
set(KORMO_mid_DIRS mid mid/cpu)
set(KORMO_mid_PRIVATE base)
set(KORMO_top_DIRS top)
set(KORMO_top_PUBLIC mid)
]=])
set(fx ${WORK}/fixture)
plant(${fx} base/up.cpp "#include <string>\n#include \"kormo/mid/api.h\"\n")            # upward
plant(${fx} mid/api.h "#pragma once\n#include \"kormo/mid/cpu/impl.h\"\n")              # itself
plant(${fx} mid/leak.h "#pragma once\n  #  include <kormo/base/b.h>\n")                  # PRIVATE dep in a header
plant(${fx} mid/cpu/impl.cpp "#include \"kormo/base/b.h\"\n")                          # PRIVATE dep in a .cpp
plant(${fx} top/through.cpp "#include \"kormo/mid/api.h\"\n#include \"kormo/base/b.h\"\n")  # base is not exported by mid
plant(${fx} top/gen.cpp "#include \"kormo/version.h\"\n")                              # generated, no module
plant(${fx} top/unknown.cpp "\n\n#include \"kormo/nowhere/x.h\"\n")
plant(${fx} stray/file.cpp "int x;\n")
expect_violations(${rules} ${fx}
  REPORTED
    "base/up.cpp:2: base -> mid is not an allowed arrow (base may include: base)"
    "mid/leak.h:2: mid -> base is not an allowed arrow (a header of mid may include: mid)"
    "top/through.cpp:2: top -> base is not an allowed arrow (top may include: top mid)"
    "top/unknown.cpp:3: kormo/nowhere/x.h: no kormo_module() owns this directory"
    "stray/file.cpp: no kormo_module() owns this directory"
  UNREPORTED "mid/api.h" "impl.cpp" "gen.cpp" "through.cpp:1:")

# 3. The same tree without the violations passes.
foreach(bad base/up.cpp mid/leak.h top/through.cpp top/unknown.cpp stray/file.cpp)
  file(REMOVE ${fx}/kormo/${bad})
endforeach()
run_check(rc out ${rules} ${fx})
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "a clean tree failed the check:\n${out}")
endif()
message(STATUS "layering check: planted violations caught, clean tree passes")
