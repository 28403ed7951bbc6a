/* Drop reasons, generated from dp_drops.def. */
#ifndef DP_DROP_H
#define DP_DROP_H

enum dp_drop {
#define DP_DROP(sym, name, help) DP_DROP_##sym,
#include "dp_drops.def"
#undef DP_DROP
	DP_DROP_MAX
};

/* CLI name of a drop reason, e.g. "spoof_mac". */
const char *dp_drop_name(enum dp_drop d);
/* One-line explanation of a drop reason. */
const char *dp_drop_help(enum dp_drop d);

#endif
