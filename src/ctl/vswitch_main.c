/* dpdk-vswitch: load the configuration, start DPDK and the datapath,
 * then run the control thread on the main lcore until SIGINT/SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_log.h>

#include "ctl_cmds.h"
#include "ctl_config.h"
#include "ctl_server.h"
#include "ctl_switch.h"
#include "dp.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [-c FILE] [--check]\n"
		"DPDK userspace overlay switch: vhost-user VM ports, VXLAN underlay.\n\n"
		"  -c, --config FILE  configuration (YAML, see docs/config.md);\n"
		"                     without it the built-in default (config/default.yaml)\n"
		"      --check        validate the configuration and exit (0 = valid)\n"
		"  -h, --help         this text\n"
		"  -V, --version      print the version\n", prog);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false;
	char err[CTL_ERR_MAX], *eal_argv[64], file[CTL_PATH_MAX + 64], sock[CTL_PATH_MAX];
	struct ctl_config *cfg;
	int opt, eal_argc, ret = EXIT_FAILURE;

	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'k': check = true; break;
		case 'h': usage(stdout, argv[0]); return EXIT_SUCCESS;
		case 'V': printf("dpdk-vswitch %s\n", VS_VERSION); return EXIT_SUCCESS;
		default: usage(stderr, argv[0]); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
		usage(stderr, argv[0]);
		return 2;
	}

	cfg = path ? ctl_config_load(path, NULL, err, sizeof(err))
		   : ctl_config_load(NULL, ctl_config_default_yaml, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_FAILURE;
	}
	if (check) {
		printf("%s: configuration is valid\n", cfg->file);
		ctl_config_free(cfg);
		return EXIT_SUCCESS;
	}
	switch (ctl_switch_restore_state(cfg, err, sizeof(err))) {
	case 0:
		break;
	case 1:
		printf("%s: ports, networks, endpoints, tenants, groups and policies restored from %s/state.yaml "
		       "(vswitchctl config reload makes %s authoritative again)\n",
		       argv[0], cfg->state_dir, cfg->file);
		break;
	default:
		fprintf(stderr, "%s: state file rejected, starting from %s: %s\n", argv[0],
			cfg->file, err);
		break;
	}

	eal_argc = ctl_switch_eal_args(cfg, argv[0], eal_argv, RTE_DIM(eal_argv));
	if (eal_argc < 0 || rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "%s: cannot initialise DPDK (see the EAL messages above)\n",
			argv[0]);
		ctl_config_free(cfg);
		return EXIT_FAILURE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	snprintf(file, sizeof(file), "%s", cfg->file);
	snprintf(sock, sizeof(sock), "%s", cfg->ctl_socket);
	if (ctl_switch_start(cfg, err, sizeof(err)) < 0) {   /* owns cfg from here on */
		fprintf(stderr, "%s: %s\n", file, err);
		goto out;
	}
	ret = ctl_cmds_register_all();
	if (ret == 0)
		ret = ctl_server_open(sock);
	if (ret < 0) {
		fprintf(stderr, "%s: control socket %s: %s\n", argv[0], sock,
			ret == -EADDRINUSE ? "another switch is serving it" : strerror(-ret));
		ret = EXIT_FAILURE;
		goto stop;
	}
	printf("dpdk-vswitch %s: running %s, control socket %s\n", VS_VERSION, file, sock);
	fflush(stdout);

	while (!stop_requested) {
		ctl_server_poll(5);
		ctl_switch_poll();
	}
	printf("dpdk-vswitch: stopping\n");
	ret = EXIT_SUCCESS;
	ctl_server_close();
stop:
	ctl_switch_stop();
out:
	rte_eal_cleanup();
	return ret;
}
