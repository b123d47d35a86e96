// Package pgcluster builds PostgreSQL servers for tests: a primary, a
// streaming standby (synchronous or not, with a replay delay), pgbouncer in
// front, all on 127.0.0.1 in a temporary folder, from the installed
// PostgreSQL programs, torn down when the test ends. Tests use it to kill a
// primary, promote a standby and read from replicas.
package pgcluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvCluster names the variable that runs the tests building their own
// PostgreSQL servers (a primary and a streaming standby, pgbouncer) outside
// CI; CI (CI=true) always runs them.
const EnvCluster = "SVC_TEST_PG_CLUSTER"

// Node is one PostgreSQL server of a Cluster, on 127.0.0.1.
type Node struct {
	Name string
	Port int
	Dir  string
	c    *Cluster
}

// Cluster is a primary and, optionally, a streaming standby, built in a
// temporary folder from the installed PostgreSQL binaries and torn down
// when the test ends. As root, the servers run as the postgres user.
type Cluster struct {
	Primary, Standby *Node
	bin              string // folder of initdb, pg_ctl, pg_basebackup
	dir              string
	runAs            string // "" or the user to run the servers as
	t                testing.TB
}

// ClusterOptions shape a Cluster.
type ClusterOptions struct {
	Standby bool // build a streaming standby
	// Sync makes the standby synchronous: a commit is acknowledged once
	// the standby has flushed it.
	Sync bool
	// ApplyDelay delays the standby's replay (recovery_min_apply_delay).
	ApplyDelay time.Duration
}

// NeedCluster skips t (fails it in CI) unless tests may build servers.
func NeedCluster(t testing.TB) {
	t.Helper()
	if os.Getenv("CI") == "true" || os.Getenv(EnvCluster) == "1" {
		return
	}
	t.Skipf("builds its own PostgreSQL servers: run with %s=1 (CI does)", EnvCluster)
}

// NewCluster builds and starts a cluster.
func NewCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	NeedCluster(t)
	bin := postgresBin(t)
	c := &Cluster{bin: bin, t: t}
	dir, err := os.MkdirTemp("", "svcstore-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(c.teardown)
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
		if _, err := user.Lookup(c.runAs); err != nil {
			t.Fatalf("running as root needs the postgres user (Debian's postgresql package makes it): %v", err)
		}
		c.run("chown", "postgres", dir)
	}
	c.Primary = c.node("primary")
	c.pg("initdb", "-D", c.Primary.Dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	sync := ""
	if o.Sync && o.Standby {
		sync = "standby"
	}
	c.appendConf(c.Primary, "postgresql.conf", fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
wal_level = replica
max_wal_senders = 5
hot_standby = on
synchronous_standby_names = '%s'
fsync = off
full_page_writes = off
`, c.Primary.Port, c.Primary.Dir, sync))
	hba := "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
	c.write(filepath.Join(c.Primary.Dir, "pg_hba.conf"), hba)
	c.start(c.Primary)
	if !o.Standby {
		return c
	}
	c.Standby = c.node("standby")
	c.pg("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Primary.Port), "-U", "postgres",
		"-D", c.Standby.Dir, "-X", "stream", "-R", "--no-sync")
	// postgresql.auto.conf, where pg_basebackup -R wrote its own
	// primary_conninfo: read last, so this one wins.
	c.appendConf(c.Standby, "postgresql.auto.conf", fmt.Sprintf(`
port = %d
unix_socket_directories = '%s'
primary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=standby'
recovery_min_apply_delay = '%dms'
`, c.Standby.Port, c.Standby.Dir, c.Primary.Port, o.ApplyDelay.Milliseconds()))
	c.start(c.Standby)
	// Wait until the standby streams.
	pool := c.Primary.Pool(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		err := pool.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby' AND state = 'streaming'").Scan(&n)
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby does not stream after 30 s (err %v); its log:\n%s", err, c.log(c.Standby))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

// DSN is a URL connecting to node as postgres to the postgres database.
func (n *Node) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", n.Port)
}

// MultiHostDSN connects to whichever of nodes satisfies attrs
// (target_session_attrs: read-write, standby, prefer-standby, any).
func (c *Cluster) MultiHostDSN(attrs string, nodes ...*Node) string {
	var hosts []string
	for _, n := range nodes {
		hosts = append(hosts, fmt.Sprintf("127.0.0.1:%d", n.Port))
	}
	return fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable&connect_timeout=2&target_session_attrs=%s", strings.Join(hosts, ","), attrs)
}

// Pool connects to node, closed when t ends.
func (n *Node) Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return ConnectPool(t, n.DSN())
}

// ConnectPool opens a pool on dsn and pings it, closed when t ends.
func ConnectPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Kill ends node's postmaster with SIGKILL, as a crash would: no shutdown
// checkpoint, no goodbye to clients. Its backends exit when they notice.
func (n *Node) Kill() {
	n.c.t.Helper()
	data, err := os.ReadFile(filepath.Join(n.Dir, "postmaster.pid"))
	if err != nil {
		n.c.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
	if err != nil {
		n.c.t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		n.c.t.Fatal(err)
	}
}

// Promote makes the standby a primary and waits until it accepts writes.
// Like a failover manager left with no standby (Patroni without
// synchronous_mode_strict), it then stops waiting for a synchronous
// standby, which the copied configuration still names: commits would
// otherwise wait forever.
func (c *Cluster) Promote(n *Node) {
	c.t.Helper()
	c.pg("pg_ctl", "-D", n.Dir, "promote", "-w", "-t", "30")
	pool := n.Pool(c.t)
	for _, stmt := range []string{"ALTER SYSTEM SET synchronous_standby_names = ''", "SELECT pg_reload_conf()"} {
		if _, err := pool.Exec(context.Background(), stmt); err != nil {
			c.t.Fatalf("%s on the promoted %s: %v", stmt, n.Name, err)
		}
	}
	pool.Close()
}

// Log is the server log of node, for failure messages.
func (c *Cluster) log(n *Node) string {
	data, _ := os.ReadFile(filepath.Join(n.Dir, "server.log"))
	return string(data)
}

func (c *Cluster) node(name string) *Node {
	n := &Node{Name: name, Port: freePort(c.t), Dir: filepath.Join(c.dir, name), c: c}
	return n
}

func (c *Cluster) start(n *Node) {
	c.t.Helper()
	c.pg("pg_ctl", "-D", n.Dir, "-l", filepath.Join(n.Dir, "server.log"), "-w", "-t", "60", "start")
}

func (c *Cluster) teardown() {
	for _, n := range []*Node{c.Primary, c.Standby} {
		if n == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(n.Dir, "postmaster.pid")); err == nil {
			c.command(filepath.Join(c.bin, "pg_ctl"), "-D", n.Dir, "-m", "immediate", "-w", "stop").Run()
		}
	}
	os.RemoveAll(c.dir)
}

func (c *Cluster) appendConf(n *Node, file, conf string) {
	c.t.Helper()
	f, err := os.OpenFile(filepath.Join(n.Dir, file), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) write(path, content string) {
	c.t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
	if c.runAs != "" {
		c.run("chown", c.runAs, path)
	}
}

// pg runs one of the PostgreSQL programs as the servers' user.
func (c *Cluster) pg(prog string, args ...string) {
	c.t.Helper()
	cmd := c.command(filepath.Join(c.bin, prog), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out.String())
	}
}

func (c *Cluster) command(prog string, args ...string) *exec.Cmd {
	if c.runAs != "" {
		return exec.Command("runuser", append([]string{"-u", c.runAs, "--", prog}, args...)...)
	}
	return exec.Command(prog, args...)
}

func (c *Cluster) run(prog string, args ...string) {
	c.t.Helper()
	if out, err := exec.Command(prog, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
}

// postgresBin finds the newest installed PostgreSQL's programs (Debian
// puts them in /usr/lib/postgresql/VERSION/bin), or pg_ctl on PATH.
func postgresBin(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p)
	}
	t.Fatal("no PostgreSQL server programs (initdb, pg_ctl) installed: apt-get install postgresql")
	return ""
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// freePort returns a loopback TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Bouncer starts pgbouncer in transaction mode in front of node and
// returns the DSN through it (database postgres); it stops when t ends.
// exec_mode is pgx's default_query_exec_mode: without protocol-level
// prepared statements (pgbouncer before 1.21) it must not be one that names
// statements (use exec or simple_protocol).
func (c *Cluster) Bouncer(n *Node, execMode string) string {
	c.t.Helper()
	prog, err := exec.LookPath("pgbouncer")
	if err != nil {
		for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"} {
			if _, err := os.Stat(p); err == nil {
				prog = p
			}
		}
	}
	if prog == "" {
		c.t.Fatal("pgbouncer is not installed: apt-get install pgbouncer")
	}
	port := freePort(c.t)
	dir := filepath.Join(c.dir, "pgbouncer")
	if err := os.Mkdir(dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	if c.runAs != "" {
		c.run("chown", c.runAs, dir)
	}
	c.write(filepath.Join(dir, "users.txt"), "\"postgres\" \"\"\n")
	ini := filepath.Join(dir, "pgbouncer.ini")
	c.write(ini, fmt.Sprintf(`[databases]
postgres = host=127.0.0.1 port=%d dbname=postgres user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = %s
`, n.Port, port, filepath.Join(dir, "users.txt"), filepath.Join(dir, "pgbouncer.log")))
	cmd := c.command(prog, ini)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("pgbouncer does not listen after 10 s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&default_query_exec_mode=%s", port, execMode)
}
