# kormo_embed(<target> <symbol> <file>...)
# Compiles the bytes of the files into <target>, so the binary carries them (built-in task
# definitions, the server's page) and needs no install tree. The generated source defines
#   const kormo::EmbeddedFile kormo::embedded::<symbol>[]  and  size_t <symbol>_count
# (util/embedded.h), each entry named by the file's name without its directory. It is
# regenerated when a file changes.
set(KORMO_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake)

function(kormo_embed target symbol)
  set(out ${CMAKE_BINARY_DIR}/generated/embed_${symbol}.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSYMBOL=${symbol} "-DFILES=${ARGN}" -P ${KORMO_EMBED_SCRIPT}
    DEPENDS ${ARGN} ${KORMO_EMBED_SCRIPT}
    COMMENT "Embedding ${symbol}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
