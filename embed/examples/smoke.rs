use axon_embed::{Embedder, OnnxEmbedder};
fn main() {
    let t = std::time::Instant::now();
    let e = OnnxEmbedder::from_dir(std::env::args().nth(1).unwrap()).unwrap();
    println!("{e:?} load {:?}", t.elapsed());
    let v = e
        .embed(&["The cat sits on the mat.", "A kitten rests on a rug.", "Stock markets fell sharply today.", ""])
        .unwrap();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    println!("{} {} {} {}", dot(&v[0], &v[1]), dot(&v[0], &v[2]), dot(&v[1], &v[2]), v[3].len());
    let texts: Vec<String> = (0..256)
        .map(|i| format!("Sentence number {i} talks about databases, write-ahead logs and vector search in a browser."))
        .collect();
    let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    for th in [1, 2] {
        let e2 = OnnxEmbedder::from_dir(std::env::args().nth(1).unwrap()).unwrap().with_threads(th);
        let t = std::time::Instant::now();
        e2.embed(&refs).unwrap();
        println!("threads {th}: {:.1} sent/s", 256.0 / t.elapsed().as_secs_f64());
    }
}
