//! The kit database (`harness::db`) speaks its protocol, enforces its
//! connection limit and injects its faults.

use std::time::Duration;

use harness::db::{Db, DbConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Client {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn open(db: &Db) -> Client {
        let (read, write) = TcpStream::connect(db.addr()).await.expect("connect").into_split();
        Client { lines: BufReader::new(read).lines(), write }
    }

    async fn say(&mut self, line: &str) -> String {
        self.write.write_all(format!("{line}\n").as_bytes()).await.expect("write");
        self.next().await
    }

    async fn next(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("an answer within 5 s")
            .expect("read")
            .unwrap_or_else(|| "<eof>".into())
    }
}

fn quick() -> DbConfig {
    DbConfig::default().connect_cost(Duration::from_millis(5))
}

#[tokio::test]
async fn handshake_ping_query() {
    let db = Db::start(quick()).await.unwrap();
    let mut c = Client::open(&db).await;
    assert_eq!(c.say("HELLO app secret").await, "OK 1");
    assert_eq!(c.say("PING").await, "PONG");
    assert_eq!(c.say("QUERY select 1").await, "ROW select 1");
    assert_eq!(c.next().await, "DONE");
    assert!(c.say("DROP everything").await.starts_with("ERROR 42601 "));
    let s = db.stats();
    assert_eq!((s.opened, s.open, s.peak, s.queries), (1, 1, 1, 1));
}

#[tokio::test]
async fn refuses_beyond_max_connections_and_counts_closes() {
    let db = Db::start(quick().max_connections(2)).await.unwrap();
    let mut a = Client::open(&db).await;
    let mut b = Client::open(&db).await;
    assert!(a.say("HELLO app x").await.starts_with("OK "));
    assert!(b.say("HELLO app x").await.starts_with("OK "));
    let mut c = Client::open(&db).await;
    assert_eq!(c.say("HELLO app x").await, "ERROR 53300 sorry, too many clients already");
    assert_eq!(c.next().await, "<eof>");
    drop(a);
    db.wait_for(Duration::from_secs(2), |s| s.open == 1).await.expect("the closed session is counted");
    let mut d = Client::open(&db).await;
    assert!(d.say("HELLO app x").await.starts_with("OK "));
    let s = db.stats();
    assert_eq!((s.opened, s.peak, s.refused), (3, 2, 1));
}

#[tokio::test]
async fn faults() {
    let db = Db::start(quick()).await.unwrap();
    let mut a = Client::open(&db).await;
    assert!(a.say("HELLO app x").await.starts_with("OK "));
    db.drop_all();
    assert!(a.next().await.starts_with("ERROR 57P01 "));
    assert_eq!(a.next().await, "<eof>");
    db.wait_for(Duration::from_secs(2), |s| s.open == 0).await.expect("dropped sessions are closed");

    db.refuse_new(true);
    let mut b = Client::open(&db).await;
    assert!(b.say("HELLO app x").await.starts_with("ERROR 57P03 "));
    db.refuse_new(false);
    let mut c = Client::open(&db).await;
    assert!(c.say("HELLO app x").await.starts_with("OK "));

    db.slow_queries(Duration::from_millis(150));
    let started = std::time::Instant::now();
    assert_eq!(c.say("QUERY slow").await, "ROW slow");
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn checks_the_password_when_one_is_set() {
    let db = Db::start(DbConfig { password: Some("right".into()), ..quick() }).await.unwrap();
    let mut a = Client::open(&db).await;
    assert_eq!(a.say("HELLO app wrong").await, "ERROR 28P01 password authentication failed for user \"app\"");
    let mut b = Client::open(&db).await;
    assert!(b.say("HELLO app right").await.starts_with("OK "));
}
