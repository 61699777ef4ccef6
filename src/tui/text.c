#include "tui/text.h"

#include "base/utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

size_t text_len(const char *s)
{
	return utf8_count(s, strlen(s));
}

size_t text_prefix(const char *s, size_t n)
{
	return utf8_offset(s, strlen(s), n);
}

char *text_fit(char *out, size_t size, const char *s, size_t width, int pad)
{
	size_t len = text_len(s), k = 0;
	if (!size)
		return out;
	if (len > width) {
		size_t keep = width >= 3 ? width - 3 : 0;
		size_t b = text_prefix(s, keep);
		if (b > size - 1)
			b = size - 1;
		memcpy(out, s, b);
		k = b;
		for (int i = 0; i < 3 && k + 1 < size && keep + (size_t)i < width; i++)
			out[k++] = '.';
		len = width;
	} else {
		size_t b = strlen(s);
		if (b > size - 1)
			b = size - 1;
		memcpy(out, s, b);
		k = b;
	}
	if (pad)
		for (; len < width && k + 1 < size; len++)
			out[k++] = ' ';
	out[k] = '\0';
	return out;
}

void text_uptime(char *out, size_t size, double elapsed_s)
{
	long long sec = elapsed_s > 0 ? (long long)elapsed_s : 0;
	long long h = sec / 3600, m = sec % 3600 / 60, s = sec % 60;
	if (h > 0)
		snprintf(out, size, "%lldh%02lldm%02llds", h, m, s);
	else
		snprintf(out, size, "%lldm%02llds", m, s);
}

void text_rate(char *out, size_t size, double hz)
{
	if (hz >= 1e6)
		snprintf(out, size, "%.1fMHz", hz / 1e6);
	else if (hz >= 1000)
		snprintf(out, size, "%.1fKHz", hz / 1000);
	else
		snprintf(out, size, "%.1fHz", hz);
}

/* Length of a "python3", "python3.12" or "python3.13t" directory name at p
 * ending in '/', or 0. */
static size_t python_dir(const char *p)
{
	if (strncmp(p, "python3", 7) != 0)
		return 0;
	size_t i = 7;
	if (p[i] == '.' && isdigit((unsigned char)p[i + 1])) {
		i++;
		while (isdigit((unsigned char)p[i]))
			i++;
		if (p[i] == 't') /* free-threaded builds: lib/python3.13t */
			i++;
	}
	return p[i] == '/' ? i + 1 : 0;
}

const char *text_short_path(const char *path)
{
	if (path[0] != '/')
		return path; /* "<frozen runpy>", "<string>", relative names */
	for (const char *p = strstr(path, "/lib/"); p; p = strstr(p + 1, "/lib/")) {
		size_t n = python_dir(p + 5);
		if (!n)
			continue;
		const char *rest = p + 5 + n;
		if (!strncmp(rest, "site-packages/", 14) || !strncmp(rest, "dist-packages/", 14))
			rest += 14;
		while (*rest == '/')
			rest++;
		return *rest ? rest : path;
	}
	return path;
}

int text_contains_nocase(const char *s, const char *pattern)
{
	size_t n = strlen(pattern);
	if (!n)
		return 1;
	for (; *s; s++) {
		size_t i = 0;
		while (i < n && s[i] && tolower((unsigned char)s[i]) == tolower((unsigned char)pattern[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}
