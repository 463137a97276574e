/*
 * dg-broker: the DungeonGate daemon, and its admin commands.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

/* Say how to call it, and stop. */
static __dead void
usage(void)
{
	fprintf(stderr,
	    "usage: dg-broker [-D] [-f FILE]\n"
	    "       dg-broker --test-config [-f FILE]\n"
	    "       dg-broker --check [-f FILE]\n"
	    "       dg-broker --status [-f FILE]\n"
	    "       dg-broker --drain [-f FILE]\n"
	    "       dg-broker --forget USER [-f FILE]\n"
	    "       dg-broker --alert-rules [-f FILE]\n"
	    "       dg-broker --print-schema\n");
	exit(EXIT_USAGE);
}

/* Run the broker, or one of its admin commands. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "test-config", no_argument, NULL, 't' },
		{ "check", no_argument, NULL, 'c' },
		{ "status", no_argument, NULL, 's' },
		{ "drain", no_argument, NULL, 'd' },
		{ "forget", required_argument, NULL, 'F' },
		{ "print-schema", no_argument, NULL, 'S' },
		{ "alert-rules", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct config	*cfg, *strict;
	const char	*path = DG_DEFAULT_CONFIG, *forget = NULL;
	char		*cause, *abspath;
	int		 ch, foreground = 0, mode = 0;

	log_open("dg-broker", LOG_LEVEL_INFO, LOG_TO_STDERR);
	while ((ch = getopt_long(argc, argv, "Df:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D':
			foreground = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'F':
			forget = optarg;
			/* FALLTHROUGH */
		case 't':
		case 'c':
		case 's':
		case 'd':
		case 'S':
		case 'a':
			if (mode != 0)
				usage();
			mode = ch;
			break;
		case 'V':
			printf("dg-broker %s (protocol %d)\n", PACKAGE_VERSION,
			    PROTO_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (mode == 'S') {
		config_print_schema(stdout);
		return 0;
	}

	/*
	 * The admin commands need only the socket, read leniently; --check
	 * also says whether the whole file would load.
	 */
	if (mode == 'c' || mode == 's' || mode == 'd' || mode == 'F') {
		cfg = config_load_session(path, &cause);
		/* --check prints every error of the file, these among them. */
		if (cause != NULL && mode != 'c')
			fprintf(stderr, "%s\n", cause);
		free(cause);
		if (mode == 'c') {
			if ((strict = config_load(path, &cause)) == NULL)
				fprintf(stderr, "%s\n", cause);
			config_free(strict);
			ch = ctl_check(cfg, cause);
			free(cause);
		} else if (mode == 'F')
			ch = ctl_forget(cfg, forget);
		else
			ch = mode == 's' ? ctl_status(cfg) : ctl_drain(cfg);
		config_free(cfg);
		return ch;
	}
	/*
	 * The broker itself (and --test-config) must be able to read
	 * secrets; the alert rules need none of them.
	 */
	config_need_secrets(mode != 'a');
	if ((cfg = config_load(path, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return EXIT_CONFIG;
	}
	if (mode == 't') {
		config_print(cfg, stdout);
		config_free(cfg);
		return 0;
	}
	if (mode == 'a') {
		alerts_print(cfg, stdout);
		config_free(cfg);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	log_set_level(cfg->broker_log_level);
	log_set_format(cfg->broker_log_format);
	/* Reloads must find the file after daemon(3) moves to /. */
	if ((abspath = realpath(path, NULL)) == NULL)
		fatal("realpath %s", path);
	ch = broker_main(cfg, abspath, foreground);
	free(abspath);
	return ch;
}
