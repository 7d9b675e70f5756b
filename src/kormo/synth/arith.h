// arith: verifiable bilingual arithmetic and number-reading problems with
// reasoning traces, generated and computed by code (no teacher model).
//
// Kinds (meta.kind): shopping_total, shopping_change (prices × quantities, the
// change from a bill), unit (km/m, kg/g, L/mL, m/cm, hours/minutes, both ways,
// exact decimals), sino_read (digits → Sino-Korean words), sino_write (words →
// digits), native_count (adding or taking away things counted with 개/명/마리/
// 권/자루 in native Korean numbers), native_age (ages with 살). Each item is
// asked in Korean or English (meta.lang = the answer's language); the reasoning
// holds the steps, the content the answer. docs/synth.md lists the templates.
#pragma once

#include <cstdint>

#include "kormo/synth/conversation.h"

namespace kormo::synth {

// Item `index` of the stream for `seed`: a pure function of both, so items do
// not depend on how many others were generated.
Conversation arith_item(uint64_t seed, uint64_t index);

}  // namespace kormo::synth
