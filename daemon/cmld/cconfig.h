/*
 * Container configs (cml-container(5)): strict parsing and validation of
 * the JSON an operator writes, with every default filled in, and the
 * effective config as JSON, the machine-readable report of a container's
 * security settings.  Every refusal is one stable sentence naming the
 * field, by its full path ("linux.resources.memory.limit").
 */
#ifndef CMLD_CCONFIG_H
#define CMLD_CCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "net-fw.h"

/* Largest config accepted, in bytes. */
#define CCONFIG_MAX (512 * 1024)
/* The detached CMS signature of CONFIG.json is CONFIG.json.p7s. */
#define CCONFIG_SIGNATURE_SUFFIX ".p7s"
/* The name reserved for the management container. */
#define CCONFIG_C0_NAME "c0"

/* Limits of the process fields. */
#define CCONFIG_ARGS_MAX 64
#define CCONFIG_ENV_MAX 128
#define CCONFIG_STRING_MAX 4096 /* each argument and each environment entry */

/* Ranges and defaults of the resource fields. */
#define CCONFIG_MEMORY_MIN (4LL * 1024 * 1024)
#define CCONFIG_MEMORY_MAX (1024LL * 1024 * 1024 * 1024)
#define CCONFIG_MEMORY_DEFAULT (256LL * 1024 * 1024)
#define CCONFIG_SHARES_MIN 2
#define CCONFIG_SHARES_MAX 262144
#define CCONFIG_SHARES_DEFAULT 1024
#define CCONFIG_QUOTA_MIN 1000
#define CCONFIG_QUOTA_MAX 1000000
#define CCONFIG_PERIOD_MIN 1000
#define CCONFIG_PERIOD_MAX 1000000
#define CCONFIG_PERIOD_DEFAULT 100000
#define CCONFIG_CPU_MAX 8191 /* highest CPU number in a cpus list */
#define CCONFIG_PIDS_MIN 1
#define CCONFIG_PIDS_MAX 4194304
#define CCONFIG_PIDS_DEFAULT 1024
#define CCONFIG_STORAGE_MIN 1
#define CCONFIG_STORAGE_MAX 1048576
#define CCONFIG_STORAGE_DEFAULT 64
/* The data volume: its size in MiB, and its mount point's length. */
#define CCONFIG_VOLUME_MIN 8
#define CCONFIG_VOLUME_MAX 1048576
#define CCONFIG_VOLUME_PATH_MAX 255

/* Device rules. */
#define CCONFIG_DEVICES_MAX 256
#define CCONFIG_MAJOR_MAX 4095
#define CCONFIG_MINOR_MAX 1048575
#define CCONFIG_DEVICE_ANY (-1LL) /* major or minor omitted: '*' */

/* One rule of the device allow list, as the device cgroup takes it. */
struct cconfig_device {
	char type; /* 'c', 'b' or 'a' (every device; c0 only) */
	long long major; /* 0..4095 or CCONFIG_DEVICE_ANY */
	long long minor; /* 0..1048575 or CCONFIG_DEVICE_ANY */
	char access[4]; /* non-empty, in the order r, w, m: "rw", "rwm" */
	int exclusive; /* this container only; type c or b, both numbers */
};

/*
 * The devices every container may use besides its config's list: null,
 * zero, full, random, urandom, tty, ptmx and every pts.
 */
extern const struct cconfig_device cconfig_default_devices[];
extern const size_t cconfig_default_devices_len;

/*
 * The network section (cml.network): the most entries of each list, and
 * the prefix of the c0 ends of container links, which no uplink or
 * assigned interface may have (traffic through another container's link
 * would be traffic between containers).  At most 3 DNS servers, as
 * resolv.conf(5) takes.
 */
#define CCONFIG_NET_EGRESS_MAX 32
#define CCONFIG_NET_FORWARD_MAX 16
#define CCONFIG_NET_MGMT_MAX 16
#define CCONFIG_NET_DNS_MAX 3
#define CCONFIG_NET_IFACES_MAX 8
#define CCONFIG_NET_LINK_PREFIX "vc-"

enum cconfig_net_mode {
	CCONFIG_NET_ISLAND, /* only lo (the default) */
	CCONFIG_NET_LINK, /* a link to c0, and what the lists allow */
};

/*
 * A container's network, its allowances as the firewall takes them
 * (cconfig_net_fw_ctr).  The strings the allowances point to belong to
 * the config.  A port forward's to_addr is the container's address, known
 * only at start, and is zero here; its to_port is always set (the port
 * when the config names none).
 */
struct cconfig_net {
	enum cconfig_net_mode mode;
	struct net_fw_egress *egress;
	size_t negress;
	struct net_fw_forward *forward;
	size_t nforward;
	struct net_fw_port *mgmt;
	size_t nmgmt;
	char **dns; /* canonical addresses, NULL-terminated, never NULL */
	size_t ndns;
	char **interfaces; /* assigned exclusively; NULL-terminated, never NULL */
	size_t ninterfaces;
};

enum cconfig_token {
	CCONFIG_TOKEN_NONE,
	CCONFIG_TOKEN_SOFTTOKEN,
	CCONFIG_TOKEN_USBTOKEN,
};

/*
 * A complete, validated config: every field holds its value or its
 * default.  Arrays of strings are NULL-terminated as well as counted, so
 * they can go to execve(2) as they are.
 */
struct cconfig {
	int is_c0; /* parsed by cconfig_parse_c0 */
	char *name;
	char *guestos_name;
	char *guestos_min_version; /* canonical ("1.2"); NULL: any version */
	char *hostname; /* default: the name */
	int autostart;

	char **args; /* NULL: the guest OS's init */
	size_t nargs;
	char **env; /* never NULL */
	size_t nenv;
	uint64_t caps; /* bit n set: capability n stays in the bounding set */
	/*
	 * PID 1 is cml's init shim, which passes signals on to the init
	 * (its child) and reaps orphans, instead of the init itself.
	 */
	int init_shim;

	long long memory_limit; /* bytes */
	long long cpu_shares;
	long long cpu_quota; /* microseconds per period; 0: no quota */
	long long cpu_period; /* microseconds */
	char *cpu_cpus; /* cpuset list ("0-1,3"); NULL: every CPU */
	long long pids_limit;
	struct cconfig_device *devices;
	size_t ndevices;
	int user_namespace;

	enum cconfig_token token;
	int storage_encrypted;
	/*
	 * With storage_encrypted: LUKS2 with integrity protection
	 * (authenticated encryption); 0: opted out, encryption alone.
	 */
	int storage_integrity;
	long long storage_size_mb; /* the scratch layer (tmpfs), lost at stop */
	/*
	 * The data volume, kept across stops: an ext4 file of this size,
	 * mounted at volume_mount inside; NULL: none.
	 */
	char *volume_mount;
	long long volume_size_mb;
	int time; /* the time container: may keep CAP_SYS_TIME */
	struct cconfig_net net;
};

/*
 * Parses and validates the config of a service container (the name "c0"
 * is refused); c is complete on success and empty on error.  -1 with
 * *cause naming the field and what is allowed.
 */
int cconfig_parse(const char *json, size_t len, struct cconfig *c,
    char **cause);
/*
 * As cconfig_parse, for the management container: the name must be "c0",
 * and CAP_SYS_ADMIN and device rules of type 'a' are allowed.
 */
int cconfig_parse_c0(const char *json, size_t len, struct cconfig *c,
    char **cause);
/* Releases a parsed config and leaves it empty; NULL does nothing. */
void cconfig_clear(struct cconfig *c);
/*
 * Returns the effective config: every field, defaults included, plus the
 * built-in device list as "default_devices".  Never NULL.
 */
struct json_object *cconfig_to_json(const struct cconfig *c);

/*
 * Fills *ctr with the firewall's view of c's network: its name as id, the
 * c0 end link, and its allowances, the port forwards copied into fwd (room
 * for CCONFIG_NET_FORWARD_MAX) with to_addr, the container's address, as
 * their target; then checks it as net_fw_ctr_add will.  ctr points into c
 * and fwd.  -1 with a cause for an island container (it has no link) or
 * what the firewall refuses.
 */
int cconfig_net_fw_ctr(const struct cconfig *c, const char *link,
    const struct net_fw_prefix *to_addr, struct net_fw_forward *fwd,
    struct net_fw_ctr *ctr, char **cause);
/* Returns the name of a network mode ("island", "link"). */
const char *cconfig_net_mode_name(enum cconfig_net_mode m);

/* Formats a rule as the device cgroup takes it ("c 188:0 rwm"; free it). */
char *cconfig_device_string(const struct cconfig_device *d);
/*
 * Returns 1 if rule d covers device type/major/minor (type 'c' or 'b',
 * CCONFIG_DEVICE_ANY for a whole range), else 0.
 */
int cconfig_device_covers(const struct cconfig_device *d, char type,
    long long major, long long minor);
/*
 * Returns 1 if a container with config c may use that device at all (its
 * list or the default list covers it), else 0; used to keep exclusive
 * devices out of every other container.
 */
int cconfig_allows_device(const struct cconfig *c, char type,
    long long major, long long minor);
/* Returns the name of capability cap ("CAP_NET_RAW"), or NULL. */
const char *cconfig_cap_name(int cap);
/* Returns the highest capability number known. */
int cconfig_cap_last(void);
/* Returns the name of a token type ("none", "softtoken", "usbtoken"). */
const char *cconfig_token_name(enum cconfig_token t);

#endif
