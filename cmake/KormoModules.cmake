# Library modules. kormo_module() turns one directory of src/kormo/ into a static
# target kormo_<name>, linked along its arrows to other modules, and records the
# arrows for the include check (cmake/check_layering.cmake): all modules share the
# include root src/, so linking alone cannot stop an upward #include.
#
#   kormo_module(<name>
#     [DIRS <dir>...]           # under src/kormo/ (default: <name>); the module's sources
#                               # are the .cpp (and .cu) files directly in these directories
#     [PUBLIC <module>...]      # modules its headers include (dependents see them too)
#     [PRIVATE <module>...]     # modules only its .cpp files include
#     [LIBS_PUBLIC <lib>...]    # external libraries its headers use
#     [LIBS_PRIVATE <lib>...]   # external libraries only its .cpp files use
#     [FIND <package>...])      # find_package(<package> REQUIRED), only once it has sources
#
# Modules are declared bottom-up: an arrow may point only to a module declared
# before it, so the graph has no cycles. A module without sources yet (a directory
# still to come) is an INTERFACE target with its module arrows only; its external
# libraries are neither searched for nor linked.

set(KORMO_LAYERING_RULES ${CMAKE_BINARY_DIR}/generated/layering_rules.cmake)
set(KORMO_LAYERING_CHECK ${CMAKE_CURRENT_LIST_DIR}/check_layering.cmake)
include(${KORMO_LAYERING_CHECK})

function(kormo_module name)
  cmake_parse_arguments(PARSE_ARGV 1 M "" "" "DIRS;PUBLIC;PRIVATE;LIBS_PUBLIC;LIBS_PRIVATE;FIND")
  if(M_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "kormo_module(${name}): unexpected arguments: ${M_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT M_DIRS)
    set(M_DIRS ${name})
  endif()
  get_property(declared GLOBAL PROPERTY KORMO_MODULES)
  foreach(dep IN LISTS M_PUBLIC M_PRIVATE)
    if(NOT dep IN_LIST declared)
      message(FATAL_ERROR "kormo_module(${name}): '${dep}' is not a module declared before ${name}")
    endif()
  endforeach()

  set(sources)
  foreach(dir IN LISTS M_DIRS)
    file(GLOB dir_sources CONFIGURE_DEPENDS
      ${CMAKE_CURRENT_SOURCE_DIR}/kormo/${dir}/*.cpp ${CMAKE_CURRENT_SOURCE_DIR}/kormo/${dir}/*.cu)
    list(APPEND sources ${dir_sources})
  endforeach()
  list(TRANSFORM M_PUBLIC PREPEND kormo_ OUTPUT_VARIABLE public_modules)
  list(TRANSFORM M_PRIVATE PREPEND kormo_ OUTPUT_VARIABLE private_modules)
  if(sources)
    foreach(package IN LISTS M_FIND)
      find_package(${package} REQUIRED)
    endforeach()
    add_library(kormo_${name} STATIC ${sources})
    set_target_properties(kormo_${name} PROPERTIES UNITY_BUILD ${KORMO_UNITY})
    target_include_directories(kormo_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(kormo_${name}
      PUBLIC ${public_modules} ${M_LIBS_PUBLIC}
      PRIVATE ${private_modules} ${M_LIBS_PRIVATE})
  else()
    add_library(kormo_${name} INTERFACE)
    target_include_directories(kormo_${name} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(kormo_${name} INTERFACE ${public_modules})
  endif()

  set_property(GLOBAL APPEND PROPERTY KORMO_MODULES ${name})
  set(arrows "")
  foreach(field DIRS PUBLIC PRIVATE)
    list(JOIN M_${field} " " values)
    string(APPEND arrows "set(KORMO_${name}_${field} ${values})\n")
  endforeach()
  set_property(GLOBAL APPEND_STRING PROPERTY KORMO_LAYERING_TEXT "${arrows}")
endfunction()

# After the last kormo_module(): kormo_lib (every module, for the CLI and tests),
# the arrows written to ${KORMO_LAYERING_RULES} and the include check, which
# stops the configure on a forbidden include (ctest runs it again: test layering.src).
function(kormo_finish_modules)
  get_property(modules GLOBAL PROPERTY KORMO_MODULES)
  list(TRANSFORM modules PREPEND kormo_ OUTPUT_VARIABLE targets)
  add_library(kormo_lib INTERFACE)
  target_link_libraries(kormo_lib INTERFACE ${targets})

  get_property(text GLOBAL PROPERTY KORMO_LAYERING_TEXT)
  file(CONFIGURE OUTPUT ${KORMO_LAYERING_RULES} CONTENT
    "# Module arrows from kormo_module() in src/CMakeLists.txt (generated).\nset(KORMO_MODULES ${modules})\n${text}" @ONLY)
  kormo_check_layering(${KORMO_LAYERING_RULES} ${CMAKE_CURRENT_SOURCE_DIR})
endfunction()
