/* Unix socket paths the switch listens on (the control socket, server-mode
 * vhost-user sockets): directories created, a stale socket left by a dead
 * process replaced, a live one never taken over. */
#ifndef CTL_SOCKPATH_H
#define CTL_SOCKPATH_H

/* Make @path free to bind: create its parent directories (0755), and
 * remove a socket file there that nobody answers on.  Returns 0,
 * -EADDRINUSE (a live server answers on it), -EEXIST (not a socket),
 * -ENAMETOOLONG or another negative errno. */
int ctl_sockpath_claim(const char *path);

#endif
