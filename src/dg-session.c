/*
 * dg-session: the ssh ForceCommand. Runs as the player, asks dg-broker
 * for a ticket, shows the menu and relays the games.
 */
#include "config.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

/* Say how to call it, and stop. */
static __dead void
usage(void)
{
	fprintf(stderr, "usage: dg-session [-f FILE]\n");
	exit(EXIT_USAGE);
}

/* Check the command and the terminal, then run the session. */
int
main(int argc, char **argv)
{
	struct config	*cfg;
	enum session_cmd cmd;
	const char	*path = DG_DEFAULT_CONFIG;
	char		*cause, *game;
	int		 ch, status;

	log_open("dg-session", LOG_LEVEL_WARN, LOG_TO_SYSLOG);
	while ((ch = getopt(argc, argv, "f:V")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 'V':
			printf("dg-session %s (protocol %d)\n", PACKAGE_VERSION,
			    PROTO_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* The command is checked before anything else is touched. */
	if (command_parse(getenv("SSH_ORIGINAL_COMMAND"), &cmd, &game,
	    &cause) != 0) {
		fprintf(stderr, "DungeonGate: %s. Log in without a command "
		    "for the menu, or use: play GAME, watch [USER], list "
		    "[--json]\n", cause);
		free(cause);
		return SESSION_EXIT_REFUSED;
	}
	if (cmd == CMD_WATCH && game != NULL && getpwnam(game) == NULL) {
		fprintf(stderr, "DungeonGate: there is no player called \"%s\" "
		    "here.\n", game);
		free(game);
		return SESSION_EXIT_REFUSED;
	}
	if (cmd == CMD_LIST || cmd == CMD_LIST_JSON) {
		/* For scripts: no terminal needed. */
		cfg = config_load_session(path, &cause);
		log_set_level(cfg->broker_log_level);
		free(cause);
		status = watch_print_list(cfg, cmd == CMD_LIST_JSON);
		config_free(cfg);
		return status;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "DungeonGate needs a terminal: connect with "
		    "ssh -t\n");
		free(game);
		return SESSION_EXIT_REFUSED;
	}
	/*
	 * Only the socket and the log level come from the file, and a
	 * problem there leaves the default: everything else arrives from
	 * the broker, which keeps its last good configuration over a bad
	 * reload, so one bad line must not stop every new login.
	 */
	cfg = config_load_session(path, &cause);
	log_set_level(cfg->broker_log_level);
	log_set_format(cfg->broker_log_format);
	if (cause != NULL) {
		log_warn("configuration problem; using the defaults for it",
		    "error=%s", log_quote(cause));
		free(cause);
	}
	status = session_run(cfg, cmd, game);
	config_free(cfg);
	free(game);
	return status;
}
