// How a CLI verb plugs into `kormo`: each cmd_<verb>.cpp defines a setup
// function that adds its options and callback to a CLI11 subcommand, and
// registers it with KORMO_VERB. Each file keeps its names in a namespace of its
// own, cmd_<verb> (KORMO_VERB inside it), rather than an anonymous one: CI compiles
// the verbs as unity batches (KORMO_UNITY), where every file's `setup` and `Args`
// share one translation unit. The callback does argument handling only and
// calls into the library; library errors (kormo::Error) reach main(), which
// prints one message and exits non-zero.
#pragma once

#include <CLI/CLI.hpp>

namespace kormo::cli {

using SetupFn = void (*)(CLI::App& verb);

// `order` sorts verbs in --help by pipeline stage.
bool add_verb(const char* name, const char* description, int order, SetupFn setup);

}  // namespace kormo::cli

#define KORMO_VERB(name, description, order, setup) \
  static const bool kormo_verb_registered_##setup = ::kormo::cli::add_verb(name, description, order, setup)
