# The program version in one generated header, <build>/generated/kormo/version.h,
# instead of compile definitions on every translation unit: only the files that
# include it recompile when the commit changes. The header is written at configure
# time and refreshed on every build (the commit moves without a reconfigure);
# configure_file leaves it untouched when nothing changed.
#
# Included from the top-level CMakeLists.txt: defines the INTERFACE target
# kormo_version (link it to include "kormo/version.h"). Run as a script by the build:
#   cmake -DKORMO_VERSION=<x.y.z> -DSOURCE_DIR=<repo> -DHEADER=<path> -P KormoVersion.cmake

function(kormo_write_version_header version source_dir header)
  execute_process(COMMAND git rev-parse --short=12 HEAD
    WORKING_DIRECTORY ${source_dir} OUTPUT_VARIABLE commit
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT commit)
    set(commit "unknown")
  endif()
  set(KORMO_VERSION ${version})
  set(KORMO_GIT_COMMIT ${commit})
  configure_file(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/version.h.in ${header} @ONLY)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  kormo_write_version_header(${KORMO_VERSION} ${SOURCE_DIR} ${HEADER})
  return()
endif()

set(KORMO_VERSION_HEADER ${CMAKE_BINARY_DIR}/generated/kormo/version.h)
kormo_write_version_header(${PROJECT_VERSION} ${CMAKE_SOURCE_DIR} ${KORMO_VERSION_HEADER})
add_custom_target(kormo_version_header
  COMMAND ${CMAKE_COMMAND} -DKORMO_VERSION=${PROJECT_VERSION} -DSOURCE_DIR=${CMAKE_SOURCE_DIR}
          -DHEADER=${KORMO_VERSION_HEADER} -P ${CMAKE_CURRENT_LIST_FILE}
  BYPRODUCTS ${KORMO_VERSION_HEADER}
  COMMENT "Refreshing kormo/version.h")
add_library(kormo_version INTERFACE)
target_include_directories(kormo_version INTERFACE ${CMAKE_BINARY_DIR}/generated)
add_dependencies(kormo_version kormo_version_header)
