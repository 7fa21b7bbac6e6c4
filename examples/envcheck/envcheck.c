/*
 * envcheck — validate the environment (plus env files) against a JSON schema.
 *
 *   envcheck --schema SCHEMA.json [--env-file FILE]... [--format text|json]
 *            [--usage] [--dump] [--quiet]
 *
 * Exit status: 0 valid, 78 (EX_CONFIG) invalid, 2 bad arguments, bad schema
 * or unreadable file, 1 anything else (out of memory, output error).
 * Env files are read in order (a later file overrides an earlier one) and the
 * real environment overrides them all. Sensitive values never appear in the
 * output: they show as **********.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <envcheck/envcheck.h>

#define EXIT_INVALID 78
#define EXIT_BAD     2

static int write_file(const char *data, size_t len, void *userdata)
{
    return fwrite(data, 1, len, (FILE *)userdata) == len ? 0 : -1;
}

static void usage(FILE *f)
{
    fputs("usage: envcheck --schema SCHEMA.json [--env-file FILE]... [--format text|json]\n"
          "                [--dialect systemd|dotenv|compose] [--usage] [--dump] [--quiet]\n"
          "\n"
          "Validate the environment (and env files; the real environment wins) against\n"
          "SCHEMA.json. Every problem is reported at once; secrets are never shown.\n"
          "\n"
          "  -s, --schema FILE    the schema (format: docs/envcheck.md)\n"
          "  -e, --env-file FILE  an env file (repeatable), read by the --dialect rules\n"
          "  -D, --dialect NAME   systemd (EnvironmentFile=, the default), dotenv\n"
          "                       (python-dotenv) or compose (Docker Compose); every\n"
          "                       variable another dialect reads differently gets a warning\n"
          "  -f, --format FMT     text (default) or json\n"
          "  -u, --usage          print the variables the schema knows, then exit\n"
          "  -d, --dump           also print the effective configuration (secrets masked)\n"
          "  -q, --quiet          print nothing when the configuration is valid\n"
          "  -h, --help           this help\n"
          "  -V, --version        the library version\n"
          "\n"
          "Exit status: 0 valid, 78 invalid, 2 bad schema, arguments or unreadable file.\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "schema", required_argument, NULL, 's' },  { "env-file", required_argument, NULL, 'e' },
        { "dialect", required_argument, NULL, 'D' }, { "format", required_argument, NULL, 'f' },
        { "usage", no_argument, NULL, 'u' },         { "dump", no_argument, NULL, 'd' },
        { "quiet", no_argument, NULL, 'q' },         { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },       { NULL, 0, NULL, 0 },
    };
    const char *schema_path = NULL;
    const char **env_files = calloc((size_t)argc + 1, sizeof *env_files);
    size_t n_env_files = 0;
    envcheck_format format = ENVCHECK_FORMAT_TEXT;
    int want_usage = 0, want_dump = 0, quiet = 0, c;
    envcheck_dialect dialect = ENVCHECK_DIALECT_SYSTEMD;
    if (!env_files)
        return 1;
    while ((c = getopt_long(argc, argv, "s:e:D:f:udqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            schema_path = optarg;
            break;
        case 'e':
            env_files[n_env_files++] = optarg;
            break;
        case 'D':
            if (envcheck_dialect_parse(optarg, &dialect) != ENVCHECK_OK) {
                fprintf(stderr, "envcheck: --dialect is systemd, dotenv or compose\n");
                free(env_files);
                return EXIT_BAD;
            }
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0) {
                format = ENVCHECK_FORMAT_TEXT;
            } else if (strcmp(optarg, "json") == 0) {
                format = ENVCHECK_FORMAT_JSON;
            } else {
                fprintf(stderr, "envcheck: --format is text or json\n");
                free(env_files);
                return EXIT_BAD;
            }
            break;
        case 'u':
            want_usage = 1;
            break;
        case 'd':
            want_dump = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            free(env_files);
            return 0;
        case 'V': {
            uint32_t v = envcheck_version();
            printf("envcheck (libenvcheck %u.%u.%u)\n", (unsigned)(v >> 16),
                   (unsigned)((v >> 8) & 0xff), (unsigned)(v & 0xff));
            free(env_files);
            return 0;
        }
        default:
            usage(stderr);
            free(env_files);
            return EXIT_BAD;
        }
    }
    if (!schema_path || optind != argc) {
        usage(stderr);
        free(env_files);
        return EXIT_BAD;
    }

    int status = 1, rc;
    envcheck_schema *schema = NULL;
    envcheck_source *source = NULL;
    envcheck_result *result = NULL;
    if ((rc = envcheck_schema_new(&schema)) != 0) {
        fprintf(stderr, "envcheck: %s\n", envcheck_strerror(rc));
        goto done;
    }
    rc = envcheck_schema_load_file(schema, schema_path);
    if (rc != 0) {
        fprintf(stderr, "envcheck: bad schema: %s\n", envcheck_schema_errmsg(schema));
        status = rc == ENVCHECK_ENOMEM ? 1 : EXIT_BAD;
        goto done;
    }
    if (want_usage) {
        rc = envcheck_schema_write_usage(schema, format, write_file, stdout);
        if (rc == 0 && format == ENVCHECK_FORMAT_JSON)
            fputc('\n', stdout);
        status = rc == 0 ? 0 : 1;
        goto done;
    }
    if ((rc = envcheck_source_new(&source)) != 0) {
        fprintf(stderr, "envcheck: %s\n", envcheck_strerror(rc));
        goto done;
    }
    for (size_t i = 0; i < n_env_files; i++) {
        rc = envcheck_source_add_file_dialect(source, env_files[i], dialect);
        if (rc != 0) {
            fprintf(stderr, "envcheck: cannot read env file %s\n", envcheck_source_errmsg(source));
            status = rc == ENVCHECK_ENOMEM ? 1 : EXIT_BAD;
            goto done;
        }
    }
    /* The real environment wins over env files: it is the last layer. */
    if ((rc = envcheck_source_add_environ(source)) != 0 ||
        (rc = envcheck_validate(&result, schema, source)) != 0) {
        fprintf(stderr, "envcheck: %s\n", envcheck_strerror(rc));
        goto done;
    }
    int valid = envcheck_result_valid(result);
    if (!(quiet && valid)) {
        if (format == ENVCHECK_FORMAT_JSON) {
            if (want_dump)
                fputs("{\"report\":", stdout);
            rc = envcheck_result_write_report(result, format, write_file, stdout);
            if (rc == 0 && want_dump) {
                fputs(",\"config\":", stdout);
                rc = envcheck_result_write_dump(result, format, write_file, stdout);
                fputc('}', stdout);
            }
            fputc('\n', stdout);
        } else {
            rc = envcheck_result_write_report(result, format, write_file, stdout);
            if (rc == 0 && want_dump) {
                fputc('\n', stdout);
                rc = envcheck_result_write_dump(result, format, write_file, stdout);
            }
        }
        if (rc != 0) {
            fprintf(stderr, "envcheck: %s\n", envcheck_strerror(rc));
            goto done;
        }
    }
    status = valid ? 0 : EXIT_INVALID;
done:
    if (fflush(stdout) != 0 && status != EXIT_BAD)
        status = 1;
    envcheck_result_free(result);
    envcheck_source_free(source);
    envcheck_schema_free(schema);
    free(env_files);
    return status;
}
