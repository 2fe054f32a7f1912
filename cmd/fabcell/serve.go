package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"fabcell/config"
	"fabcell/controller"
	"fabcell/controller/mes"
	"fabcell/controller/pendant"

	"github.com/spf13/cobra"
)

func init() { addCommand("serve", newServeCmd) }

func newServeCmd() *cobra.Command {
	var (
		dryRun, autoStart, verbose bool
		modelDir                   string
		jobs                       []string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the controller as a service: MQTT API for the MES, teach-pendant XML-RPC, web pendant",
		Long: `serve runs the cell controller until interrupted (SIGINT/SIGTERM):

  - the job manager with the cell's connections (--dry-run: the built-in simulators);
  - the MQTT API under <mqtt.topic_prefix>/<name>/ on mqtt.broker, or on an embedded
    broker started on mqtt.embedded_addr when mqtt.broker is empty;
  - the teach-pendant XML-RPC server on pendant.xmlrpc_addr (/RPC2);
  - the web pendant on pendant.web_addr (token-protected).

Jobs submitted over MQTT name models inside --model-dir (default mqtt.model_dir). Jobs
wait for a start command (MQTT, pendant or web page) unless mqtt.auto_start or
--auto-start. --job FILE queues job YAML files at start-up.

On shutdown the running job is stopped between steps and aborted (its journal lets
a resubmission resume it), the final job states and the offline state are published,
and everything is closed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("model-dir") {
				cfg.MQTT.ModelDir = modelDir
			}
			if cmd.Flags().Changed("auto-start") {
				cfg.MQTT.AutoStart = autoStart
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return serve(cmd.Context(), cfg, serveOptions{DryRun: dryRun, Jobs: jobs, Out: cmd.OutOrStdout(), Log: log})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "run against the built-in simulators instead of the real cell")
	f.StringVar(&modelDir, "model-dir", "", "directory MQTT jobs' model references are resolved in (default mqtt.model_dir)")
	f.BoolVar(&autoStart, "auto-start", false, "start jobs as soon as the cell is free (default mqtt.auto_start)")
	f.StringArrayVar(&jobs, "job", nil, "job YAML file to queue at start-up (repeatable)")
	f.BoolVar(&verbose, "verbose", false, "debug logging")
	return cmd
}

type serveOptions struct {
	DryRun bool
	Jobs   []string
	Out    io.Writer
	Log    *slog.Logger
}

// serve runs the service until ctx ends, then shuts down in order: stop
// taking commands, stop the job safely, publish final states, close.
func serve(ctx context.Context, cfg config.Cell, o serveOptions) (err error) {
	log := o.Log
	out := o.Out
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()

	if cfg.MQTT.Broker == "" {
		b, err := mes.StartBroker(cfg.MQTT, log)
		if err != nil {
			return err
		}
		closers = append(closers, func() { b.Close() })
		cfg.MQTT.EmbeddedAddr = b.Addr()
		fmt.Fprintf(out, "mqtt broker  %s (embedded)\n", b.URL())
	}
	modelDir, err := filepath.Abs(cfg.MQTT.ModelDir)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(modelDir); err != nil || !fi.IsDir() {
		log.Warn("model directory not found; MQTT jobs naming models will be refused until it exists", "dir", modelDir)
	}

	cio, err := controller.OpenCell(ctx, cfg, o.DryRun, log)
	if err != nil {
		return err
	}
	closers = append(closers, func() {
		if err := cio.Close(); err != nil {
			log.Warn("closing the cell connections", "err", err)
		}
	})
	mgr := controller.NewManager(controller.Options{Cell: cfg, IO: cio, ModelDir: modelDir, AutoStart: cfg.MQTT.AutoStart, Log: log})
	mgrClosed := false
	closeMgr := func() {
		if !mgrClosed {
			mgrClosed = true
			mgr.Close()
		}
	}
	closers = append(closers, closeMgr)

	for _, path := range o.Jobs {
		spec, err := controller.LoadJobSpec(path)
		if err != nil {
			return err
		}
		info, existed, err := mgr.Submit(spec)
		if err != nil {
			return fmt.Errorf("job %s: %w", path, err)
		}
		if existed {
			log.Warn("duplicate job id in --job files", "job", info.ID, "file", path)
		}
	}

	hub := pendant.NewHub(mgr)
	closers = append(closers, hub.Close)

	api, err := mes.New(mes.Options{Jobs: mgr, Cell: cfg, ModelDir: modelDir, DryRun: o.DryRun, Log: log})
	if err != nil {
		return err
	}
	if err := api.Start(ctx); err != nil {
		return err
	}
	apiClosed := false
	closeAPI := func() {
		if apiClosed {
			return
		}
		apiClosed = true
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := api.Close(c); err != nil {
			log.Warn("publishing the offline state", "err", err)
		}
	}
	closers = append(closers, closeAPI)
	fmt.Fprintf(out, "mqtt topics  %s/# on %s\n", api.Topics().Base, mes.BrokerURL(cfg.MQTT))

	// HTTP servers: cancelling reqCtx ends long-lived requests (event
	// streams) so that Shutdown completes.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	var servers []*http.Server
	listen := func(name, addr string, h http.Handler) (string, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("%s on %s: %w", name, addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return reqCtx },
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(name+" server", "err", err)
			}
		}()
		return l.Addr().String(), nil
	}
	stopHTTP := func() {
		cancelReqs()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(c)
		}
	}
	closers = append(closers, stopHTTP)

	if cfg.Pendant.XMLRPCAddr != "" {
		rpc, err := pendant.NewRPC(mgr, hub, cfg.Name, cfg.Pendant.AllowedClients, log)
		if err != nil {
			return err
		}
		addr, err := listen("xml-rpc", cfg.Pendant.XMLRPCAddr, rpc)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "xml-rpc      http://%s/RPC2 (clients %v)\n", addr, cfg.Pendant.AllowedClients)
	}
	if cfg.Pendant.WebAddr != "" {
		token, where, err := webToken(cfg)
		if err != nil {
			return err
		}
		web, err := pendant.NewWeb(pendant.WebOptions{Jobs: mgr, Hub: hub, Cell: cfg.Name, Token: token, UpdateHz: cfg.Pendant.WebUpdateHz, DryRun: o.DryRun, Log: log})
		if err != nil {
			return err
		}
		addr, err := listen("web", cfg.Pendant.WebAddr, web)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "web pendant  http://%s/ (token: %s)\n", addr, where)
	}
	mode := "live cell"
	if o.DryRun {
		mode = "dry run (simulators)"
	}
	fmt.Fprintf(out, "fabcell serve: ready, cell %s, %s\n", cfg.Name, mode)
	log.Info("serving", "cell", cfg.Name, "dry_run", o.DryRun)

	<-ctx.Done()
	log.Info("shutting down: stopping the running job at the next step boundary (signal again to interrupt the step in flight)")
	// A second signal interrupts the step in flight instead of waiting
	// for its acknowledgement.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	forced := make(chan struct{})
	defer close(forced)
	go func() {
		select {
		case <-again:
			for _, j := range mgr.Jobs() {
				if !j.State.Terminal() && j.State != controller.Queued {
					log.Warn("second signal: interrupting the step in flight", "job", j.ID)
					_ = mgr.Cancel(j.ID, "controller shutting down (step in flight interrupted by a second signal)")
				}
			}
		case <-forced:
		}
	}()
	stopHTTP() // no new operator commands
	closeMgr() // running job stopped between steps, aborted, journaled
	closeAPI() // final statuses, offline state, disconnect
	fmt.Fprintln(out, "fabcell serve: stopped")
	return nil
}

// webToken returns the web pendant token and where it comes from: the
// configuration, the token file, or a random token generated into
// <controller.journal_dir>/web-token (mode 0600). The token itself is
// never printed or logged.
func webToken(cfg config.Cell) (token, where string, err error) {
	switch {
	case cfg.Pendant.WebToken != "":
		return cfg.Pendant.WebToken, "pendant.web_token", nil
	case cfg.Pendant.WebTokenFile != "":
		t, err := config.ReadSecret(cfg.Pendant.WebTokenFile)
		if err != nil {
			return "", "", fmt.Errorf("pendant.web_token_file: %w", err)
		}
		return t, cfg.Pendant.WebTokenFile, nil
	}
	path := filepath.Join(cfg.Controller.JournalDir, "web-token")
	if t, err := config.ReadSecret(path); err == nil && len(t) >= 16 {
		return t, path, nil
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	t := hex.EncodeToString(b[:])
	if err := os.MkdirAll(cfg.Controller.JournalDir, 0o755); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("web token: %w", err)
	}
	return t, path + " (generated)", nil
}
