/* lb show: the built-in load balancer's profiles, their VIP and backends
 * with the frames each backend was sent (ctl_svc_lb.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include "ctl_cmds.h"
#include "ctl_cmds_util.h"
#include "ctl_server.h"
#include "ctl_services.h"
#include "ctl_svc_lb.h"

static json_t *
ip_json(uint32_t ip)
{
	char t[INET_ADDRSTRLEN];

	return json_string(inet_ntop(AF_INET, &ip, t, sizeof(t)) ? t : "?");
}

static json_t *
enables_json(const struct svc_catalog *cat, const char *profile)
{
	json_t *a = json_array();

	for (unsigned e = 0; e < cat->n_enables; e++)
		if (strcmp(cat->enables[e].profile, profile) == 0) {
			char t[2 * CTL_NAME_MAX];

			snprintf(t, sizeof(t), "%s=%s", svc_target_name(cat->enables[e].kind),
				 cat->enables[e].target);
			json_array_append_new(a, json_string(t));
		}
	return a;
}

/* Profile number @i as a JSON object; NULL when it is no LB profile. */
static json_t *
lb_json(const struct svc_catalog *cat, unsigned i)
{
	const struct svc_profile *p = &cat->profiles[i];
	struct ctl_lb_conf conf;
	char err[CTL_ERR_MAX] = "";
	json_t *o, *bs;
	int rc = ctl_svc_lb_conf(cat, i, &conf, err, sizeof(err));

	if (rc == -ENOTSUP)
		return NULL;
	o = json_pack("{s:s, s:s, s:o}", "profile", p->name, "service", p->service,
		      "enabled", enables_json(cat, p->name));
	if (rc < 0) {
		json_object_set_new(o, "problem", json_string(err));
		return o;
	}
	bs = json_array();
	for (unsigned b = 0; b < conf.n_backends; b++)
		json_array_append_new(bs, json_pack("{s:s, s:o, s:I}", "name", conf.backends[b].name,
						    "ip", conf.backends[b].ip ?
						    ip_json(conf.backends[b].ip) :
						    json_string("unknown"),
						    "packets",
						    (json_int_t)ctl_svc_lb_packets(p, b)));
	json_object_set_new(o, "vip", ip_json(conf.vip));
	json_object_set_new(o, "port", json_integer(conf.port));
	json_object_set_new(o, "proto", json_string(conf.proto == IPPROTO_UDP ? "udp" : "tcp"));
	json_object_set_new(o, "backend_port", json_integer(conf.backend_port));
	json_object_set_new(o, "backends", bs);
	return o;
}

static int
cmd_lb_show(json_t *args, json_t **result, char *err, size_t errlen)
{
	const struct svc_catalog *cat = ctl_services_catalog();
	const char *name = json_array_size(args) > 0 ? ctl_arg(args, 0) : NULL;
	json_t *a;

	if (cat == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (name != NULL) {
		long i = svc_catalog_profile(cat, name);
		json_t *o = i >= 0 ? lb_json(cat, (unsigned)i) : NULL;

		if (o == NULL) {
			snprintf(err, errlen, "no load balancer profile '%s'", name);
			return -ENOENT;
		}
		*result = o;
		return 0;
	}
	a = json_array();
	for (unsigned i = 0; i < cat->n_profiles; i++) {
		json_t *o = lb_json(cat, i);

		if (o != NULL)
			json_array_append_new(a, o);
	}
	*result = json_pack("{s:o}", "load_balancers", a);
	return 0;
}

static const struct ctl_cmd cmds[] = {
	{ "lb/show", "[PROFILE]", 0, 1, cmd_lb_show,
	  "load balancer profiles: VIP, backends and the frames sent to each" },
};

int
ctl_cmds_lb_register(void)
{
	return ctl_cmds_register(cmds, sizeof(cmds) / sizeof(cmds[0]));
}
