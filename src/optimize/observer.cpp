// The observer interface's names (observer.hpp).
#include "treesne/optimize/observer.hpp"

namespace treesne {

const char* to_string(Phase phase) {
    switch (phase) {
        case Phase::early_exaggeration:
            return "early exaggeration";
        case Phase::late_exaggeration:
            return "late exaggeration";
        case Phase::main:
            break;
    }
    return "main";
}

}  // namespace treesne
