/* Command groups of the control socket, each registering its table. */
#ifndef CTL_CMDS_H
#define CTL_CMDS_H

#ifndef VS_VERSION
#define VS_VERSION "dev"
#endif

#include <stdint.h>
#include <jansson.h>

/* Register every command group below. Returns 0 or a negative errno. */
int ctl_cmds_register_all(void);

/* show, stats */
int ctl_cmds_stats_register(void);
/* port, vnet, endpoint */
int ctl_cmds_objects_register(void);
/* tenant, group, policy */
int ctl_cmds_model_register(void);
/* config check|reload, log level */
int ctl_cmds_config_register(void);
int ctl_cmds_trace_register(void);   /* trace: dry run of a described packet */
/* policy table, policy-service status, debug/policy-service-watch */
int ctl_cmds_policy_register(void);
int ctl_cmds_services_register(void); /* service, profile, pool, catalog */
int ctl_cmds_lb_register(void);      /* lb show: the built-in load balancer */
int ctl_cmds_flow_register(void);    /* flow list: rte_flow rules of physical ports */

/* debug/stall-control (fault injection) */
int ctl_cmds_debug_register(void);

/* JSON views shared by show and the list/show commands. */
json_t *ctl_json_ports(void);
json_t *ctl_json_vnets(void);
json_t *ctl_json_endpoints(uint32_t vni);   /* UINT32_MAX: every network */
/* The same with the model's fields (tenant, gateways, groups): list/show. */
json_t *ctl_json_vnets_model(void);
json_t *ctl_json_endpoints_model(uint32_t vni);
json_t *ctl_json_port_stats(uint16_t idx);
/* A port (re)appearing at @idx starts its counters from 0. */
void ctl_stats_port_reset(uint16_t idx);

#endif
