/* The underlay, run by the control thread: tunnels to remote endpoints,
 * next-hop resolution by ARP, and answering ARP for our own addresses. */
#ifndef CTL_UNDERLAY_H
#define CTL_UNDERLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

/* Find or create the tunnel toward @tep (network order) and take a
 * reference.  Returns its index, or a negative errno (-EHOSTUNREACH when
 * no physical port reaches it). */
int ctl_tunnel_acquire(uint32_t tep);
void ctl_tunnel_release(uint16_t idx);
/* Whether some physical port reaches @tep (network order). */
bool ctl_tunnel_reachable(uint32_t tep);

/* Handle punted underlay ARP and retry pending resolutions. */
void ctl_underlay_poll(void);

/* Tunnels and neighbours for `show`. */
json_t *ctl_underlay_json(void);

#endif
