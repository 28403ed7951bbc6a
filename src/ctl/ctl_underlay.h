/* The underlay, run by the control thread: tunnels to remote endpoints,
 * next-hop resolution by ARP, and answering ARP for our own addresses. */
#ifndef CTL_UNDERLAY_H
#define CTL_UNDERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Find or create the tunnel toward @tep (network order) and take a
 * reference.  Returns its index, or a negative errno (-EHOSTUNREACH when
 * no physical port reaches it). */
int ctl_tunnel_acquire(uint32_t tep);
void ctl_tunnel_release(uint16_t idx);
/* Whether some physical port reaches @tep (network order). */
bool ctl_tunnel_reachable(uint32_t tep);

/* Our underlay address on the port that reaches @dst_ip (network order),
 * or 0 when none does. */
uint32_t ctl_underlay_src_ip(uint32_t dst_ip);

/* Send one UDP datagram of @len bytes of @payload from our underlay
 * address (on the port reaching @dst_ip, network order) and @src_port to
 * @dst_ip:@dst_port (ports in host order), through the worker that owns
 * the port's queue 0.  Returns 0, -EHOSTUNREACH (no port reaches it),
 * -EAGAIN (next hop MAC not resolved yet: resolution is under way),
 * -EMSGSIZE (larger than the underlay MTU) or -ENOBUFS (pool or inject
 * ring full). */
int ctl_underlay_send_udp(uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
			  const void *payload, size_t len);

/* Handle punted underlay ARP and notifications (ctl_notify_input()), and
 * retry pending resolutions. */
void ctl_underlay_poll(void);

/* Tunnels and neighbours for `show`. */
json_t *ctl_underlay_json(void);

#endif
