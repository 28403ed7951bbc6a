/* Names and help of drop reasons, from the one list in dp_drops.def. */
#include "dp_drop.h"

static const char *const names[DP_DROP_MAX] = {
#define DP_DROP(sym, name, help) [DP_DROP_##sym] = name,
#include "dp_drops.def"
#undef DP_DROP
};

static const char *const helps[DP_DROP_MAX] = {
#define DP_DROP(sym, name, help) [DP_DROP_##sym] = help,
#include "dp_drops.def"
#undef DP_DROP
};

const char *
dp_drop_name(enum dp_drop d)
{
	return d < DP_DROP_MAX ? names[d] : "?";
}

const char *
dp_drop_help(enum dp_drop d)
{
	return d < DP_DROP_MAX ? helps[d] : "?";
}
