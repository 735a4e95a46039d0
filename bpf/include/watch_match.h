/* Watched-path matching for the file family: the write/exec list (watch_rules) and the read
 * list (read_rules), filled from user space before attach, and the in-kernel matcher over them. */
#pragma once

#include "aurora.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WATCH_RULES_MAX);
	__type(key, __u32);
	__type(value, struct watch_rule);
} watch_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, READ_RULES_MAX);
	__type(key, __u32);
	__type(value, struct watch_rule);
} read_rules SEC(".maps");

struct match_ctx {
	const char *path;
	__u32 exec;
	__u32 matched;
	__u32 rule;
	__u32 pi;
	__u32 si;
};

static __always_inline long next_rule(struct match_ctx *c)
{
	c->rule++;
	c->pi = 0;
	c->si = 0;
	return 0;
}

/* One step of matching ctx->path against rule r, one rule after the other. A single flat
 * bpf_loop keeps the verifier's work constant whatever the rules hold. '*' stands for the rest of
 * one path component; a rule matches the path itself and everything below it. */
static __always_inline long rule_step(struct watch_rule *r, struct match_ctx *c)
{
	if (!r || r->len == 0)
		return 1;
	if ((r->flags & WATCH_F_EXEC_ONLY) && !c->exec)
		return next_rule(c);
	char ch = c->path[c->si & 2047];
	if (c->pi >= r->len || c->pi >= WATCH_PATTERN_MAX) {
		if (ch == 0 || ch == '/') {
			c->matched = 1;
			return 1;
		}
		return next_rule(c);
	}
	char pc = r->pattern[c->pi & (WATCH_PATTERN_MAX - 1)];
	if (pc == '*') {
		if (ch == '/' || ch == 0)
			c->pi++;
		else
			c->si++;
		return 0;
	}
	if (ch != pc)
		return next_rule(c);
	c->pi++;
	c->si++;
	return 0;
}

/* A map is a constant to the verifier, so each list gets its own step function. */
static long match_step(__u64 i, struct match_ctx *c)
{
	__u32 key = c->rule;
	return rule_step(bpf_map_lookup_elem(&watch_rules, &key), c);
}

static long read_match_step(__u64 i, struct match_ctx *c)
{
	__u32 key = c->rule;
	return rule_step(bpf_map_lookup_elem(&read_rules, &key), c);
}

static __always_inline int watched(const char *path, __u32 exec)
{
	struct match_ctx c = {.path = path, .exec = exec};
	bpf_loop(WATCH_RULES_MAX * (WATCH_PATTERN_MAX + 256), match_step, &c, 0);
	return c.matched;
}

static __always_inline int read_watched(const char *path)
{
	struct match_ctx c = {.path = path};
	bpf_loop(READ_RULES_MAX * (WATCH_PATTERN_MAX + 256), read_match_step, &c, 0);
	return c.matched;
}
