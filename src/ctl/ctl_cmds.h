/* Command groups of the control socket, each registering its table. */
#ifndef CTL_CMDS_H
#define CTL_CMDS_H

#ifndef VS_VERSION
#define VS_VERSION "dev"
#endif

/* show, stats */
int ctl_cmds_stats_register(void);

#endif
