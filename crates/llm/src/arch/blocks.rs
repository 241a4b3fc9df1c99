//! Shared layer blocks over zkinfer's float ops: linear maps, LayerNorm, RMSNorm, RoPE,
//! causal (optionally sliding-window) attention with grouped KV heads, gated MLPs.

use std::collections::HashMap;

use zkinfer_model::graph::{FloatGraph, FloatTensorKind, TensorId};
use zkinfer_model::kernels::indexed::IndexKind;
use zkinfer_model::ops::{BinaryKind, FloatOp, ReduceKind, UnaryFn};

use crate::config::{LlmConfig, Rope};
use crate::error::{LlmError, Result};
use crate::formats::WeightSource;

/// Graph under construction, with the weight source it reads from.
pub(crate) struct Builder<'a> {
    g: FloatGraph,
    w: &'a dyn WeightSource,
    pub cfg: &'a LlmConfig,
    /// Positions in the pass.
    pub len: usize,
    loaded: HashMap<String, TensorId>,
    masks: HashMap<Option<usize>, TensorId>,
    ropes: HashMap<u64, (TensorId, TensorId)>,
    count: usize,
}

impl<'a> Builder<'a> {
    pub fn new(cfg: &'a LlmConfig, w: &'a dyn WeightSource, len: usize) -> Self {
        Builder {
            g: FloatGraph::default(),
            w,
            cfg,
            len,
            loaded: HashMap::new(),
            masks: HashMap::new(),
            ropes: HashMap::new(),
            count: 0,
        }
    }

    pub fn finish(self) -> FloatGraph {
        self.g
    }

    pub fn input(&mut self, name: &str, shape: Vec<usize>) -> TensorId {
        self.g.add_tensor(name, shape, FloatTensorKind::Input)
    }

    pub fn node(
        &mut self,
        name: &str,
        op: FloatOp,
        ins: Vec<TensorId>,
        shape: Vec<usize>,
    ) -> TensorId {
        self.count += 1;
        let name = format!("{name}#{}", self.count);
        self.g.add_node(name, op, ins, shape)
    }

    fn constant(&mut self, name: &str, shape: Vec<usize>, data: Vec<f32>) -> TensorId {
        self.g.add_tensor(name, shape, FloatTensorKind::Const(data))
    }

    /// Weight `name`, which must have `shape`, transformed by `f` (loaded once per name).
    pub fn weight_with(
        &mut self,
        name: &str,
        shape: &[usize],
        f: Option<fn(f32) -> f32>,
    ) -> Result<TensorId> {
        let key = format!("{name}{}", if f.is_some() { "+f" } else { "" });
        if let Some(&id) = self.loaded.get(&key) {
            return Ok(id);
        }
        match self.w.shape(name) {
            None => return Err(LlmError::MissingTensor { name: name.into() }),
            Some(s) if s != shape => {
                return Err(LlmError::BadShape {
                    name: name.into(),
                    got: s,
                    expected: shape.to_vec(),
                })
            }
            Some(_) => {}
        }
        let t = self.w.tensor(name)?;
        if t.shape != shape || t.data.len() != shape.iter().product::<usize>() {
            return Err(LlmError::BadShape {
                name: name.into(),
                got: t.shape,
                expected: shape.to_vec(),
            });
        }
        let mut data = t.data;
        if let Some(f) = f {
            data.iter_mut().for_each(|x| *x = f(*x));
        }
        if data.iter().any(|x| !x.is_finite()) {
            return Err(LlmError::Format {
                file: name.into(),
                reason: "tensor holds a non-finite value".into(),
            });
        }
        let id = self.constant(name, shape.to_vec(), data);
        self.loaded.insert(key, id);
        Ok(id)
    }

    pub fn weight(&mut self, name: &str, shape: &[usize]) -> Result<TensorId> {
        self.weight_with(name, shape, None)
    }

    pub fn binary(
        &mut self,
        k: BinaryKind,
        a: TensorId,
        b: TensorId,
        shape: Vec<usize>,
    ) -> TensorId {
        self.node(
            &format!("{k:?}").to_lowercase(),
            FloatOp::Binary(k),
            vec![a, b],
            shape,
        )
    }

    pub fn unary(&mut self, f: UnaryFn, x: TensorId, shape: Vec<usize>) -> TensorId {
        let name = format!("{f:?}").to_lowercase();
        let name = name.split(['(', ' ']).next().unwrap_or("unary").to_string();
        self.node(&name, FloatOp::Unary(f), vec![x], shape)
    }

    /// `x [rows, din] · Wᵀ (+ b)` for a Hugging Face `Linear` weight `[dout, din]`.
    pub fn linear(
        &mut self,
        x: TensorId,
        rows: usize,
        w: &str,
        din: usize,
        dout: usize,
        bias: Option<&str>,
    ) -> Result<TensorId> {
        let wt = self.weight(w, &[dout, din])?;
        let mut ins = vec![x, wt];
        if let Some(b) = bias {
            ins.push(self.weight(b, &[dout])?);
        }
        let expr = "ti,oi->to".to_string();
        Ok(self.node(w, FloatOp::Einsum { expr }, ins, vec![rows, dout]))
    }

    /// `x [rows, din] · W + b` for a GPT-2 `Conv1D` weight `[din, dout]`.
    pub fn conv1d(
        &mut self,
        x: TensorId,
        rows: usize,
        prefix: &str,
        din: usize,
        dout: usize,
    ) -> Result<TensorId> {
        let wt = self.weight(&format!("{prefix}.weight"), &[din, dout])?;
        let b = self.weight(&format!("{prefix}.bias"), &[dout])?;
        let expr = "ti,io->to".to_string();
        Ok(self.node(
            prefix,
            FloatOp::Einsum { expr },
            vec![x, wt, b],
            vec![rows, dout],
        ))
    }

    /// Rows `idx` of `x [len, d]` (public indices).
    pub fn gather_rows(&mut self, x: TensorId, idx: TensorId, n: usize, d: usize) -> TensorId {
        self.node(
            "gather",
            FloatOp::IndexedMove {
                kind: IndexKind::Gather { axis: 0 },
            },
            vec![x, idx],
            vec![n, d],
        )
    }

    /// The embedding rows of `ids` (public indices) from `table [vocab, d]`.
    pub fn embed(&mut self, table: &str, ids: TensorId) -> Result<TensorId> {
        let (v, d) = (self.cfg.vocab, self.cfg.hidden);
        let t = self.weight(table, &[v, d])?;
        Ok(self.gather_rows(t, ids, self.len, d))
    }

    /// LayerNorm over the last axis with `{prefix}.weight` and `{prefix}.bias`.
    pub fn layer_norm(&mut self, x: TensorId, rows: usize, prefix: &str) -> Result<TensorId> {
        let d = self.cfg.hidden;
        let (s, s1) = (vec![rows, d], vec![rows, 1]);
        let mean = self.node(
            "mean",
            FloatOp::Reduce {
                axes: vec![1],
                kind: ReduceKind::Mean,
            },
            vec![x],
            s1.clone(),
        );
        let xc = self.binary(BinaryKind::Sub, x, mean, s.clone());
        let var = self.node(
            "var",
            FloatOp::Reduce {
                axes: vec![1],
                kind: ReduceKind::MeanOfSquares,
            },
            vec![xc],
            s1.clone(),
        );
        let r = self.unary(UnaryFn::RsqrtEps(self.cfg.norm_eps as f32), var, s1);
        let y = self.binary(BinaryKind::Mul, xc, r, s.clone());
        let w = self.weight(&format!("{prefix}.weight"), &[d])?;
        let b = self.weight(&format!("{prefix}.bias"), &[d])?;
        let y = self.binary(BinaryKind::Mul, y, w, s.clone());
        Ok(self.binary(BinaryKind::Add, y, b, s))
    }

    /// RMSNorm over the last axis of `x` (shape `shape`), weight `w` (`(1 + w)` when
    /// `plus_one`, Gemma's form).
    pub fn rms_norm(
        &mut self,
        x: TensorId,
        shape: Vec<usize>,
        w: &str,
        plus_one: bool,
    ) -> Result<TensorId> {
        let r = shape.len() - 1;
        let d = shape[r];
        let mut s1 = shape.clone();
        s1[r] = 1;
        let ms = self.node(
            "ms",
            FloatOp::Reduce {
                axes: vec![r],
                kind: ReduceKind::MeanOfSquares,
            },
            vec![x],
            s1.clone(),
        );
        let inv = self.unary(UnaryFn::RsqrtEps(self.cfg.norm_eps as f32), ms, s1);
        let y = self.binary(BinaryKind::Mul, x, inv, shape.clone());
        let f: Option<fn(f32) -> f32> = if plus_one { Some(|v| 1.0 + v) } else { None };
        let wt = self.weight_with(w, &[d], f)?;
        Ok(self.binary(BinaryKind::Mul, y, wt, shape))
    }

    /// `x [len, heads·hd] → [len, heads, hd]`.
    pub fn split_heads(&mut self, x: TensorId, heads: usize) -> TensorId {
        let hd = self.cfg.head_dim;
        self.node(
            "heads",
            FloatOp::Reshape,
            vec![x],
            vec![self.len, heads, hd],
        )
    }

    /// Rotary embedding (`rotate_half` convention) of `x [len, heads, hd]`.
    pub fn rope(&mut self, x: TensorId, heads: usize, rope: &Rope) -> TensorId {
        let (len, hd) = (self.len, self.cfg.head_dim);
        let (cos, sin) = self.rope_tables(rope);
        let half = hd / 2;
        let s = vec![len, heads, hd];
        let sh = vec![len, heads, half];
        let x1 = self.node(
            "x1",
            FloatOp::Slice {
                axis: 2,
                start: 0,
                step: 1,
            },
            vec![x],
            sh.clone(),
        );
        let x2 = self.node(
            "x2",
            FloatOp::Slice {
                axis: 2,
                start: half,
                step: 1,
            },
            vec![x],
            sh.clone(),
        );
        let nx2 = self.unary(UnaryFn::Neg, x2, sh);
        let rot = self.node("rot", FloatOp::Concat { axis: 2 }, vec![nx2, x1], s.clone());
        let a = self.binary(BinaryKind::Mul, x, cos, s.clone());
        let b = self.binary(BinaryKind::Mul, rot, sin, s.clone());
        self.binary(BinaryKind::Add, a, b, s)
    }

    fn rope_tables(&mut self, rope: &Rope) -> (TensorId, TensorId) {
        let key = rope.theta.to_bits()
            ^ rope.linear_factor.to_bits().rotate_left(17)
            ^ u64::from(rope.llama3.is_some());
        if let Some(&t) = self.ropes.get(&key) {
            return t;
        }
        let (len, hd) = (self.len, self.cfg.head_dim);
        let inv = rope.inv_freq(hd);
        let mut cos = Vec::with_capacity(len * hd);
        let mut sin = Vec::with_capacity(len * hd);
        for p in 0..len {
            // transformers computes the angles in f32.
            let pos = (p as f64 / rope.linear_factor) as f32;
            for j in 0..hd {
                let a = pos * inv[j % (hd / 2)] as f32;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
        let c = self.constant(&format!("rope.cos.{}", rope.theta), vec![len, 1, hd], cos);
        let s = self.constant(&format!("rope.sin.{}", rope.theta), vec![len, 1, hd], sin);
        self.ropes.insert(key, (c, s));
        (c, s)
    }

    /// The mask `[len, len]`: 1 where query q may attend key k (k ≤ q, and q − k < window).
    fn mask(&mut self, window: Option<usize>) -> TensorId {
        if let Some(&m) = self.masks.get(&window) {
            return m;
        }
        let len = self.len;
        let data: Vec<f32> = (0..len * len)
            .map(|i| {
                let (q, k) = (i / len, i % len);
                let ok = k <= q && window.is_none_or(|w| q - k < w);
                f32::from(u8::from(ok))
            })
            .collect();
        let name = match window {
            Some(w) => format!("mask.window{w}"),
            None => "mask.causal".into(),
        };
        let m = self.constant(&name, vec![len, len], data);
        self.masks.insert(window, m);
        m
    }

    /// Causal attention of `q [len, H, hd]` over `k, v [len, KV, hd]` (grouped when KV < H),
    /// scores scaled by `scale`; returns `[len, H·hd]`.
    pub fn attention(
        &mut self,
        q: TensorId,
        k: TensorId,
        v: TensorId,
        window: Option<usize>,
    ) -> TensorId {
        let (len, h, kv, hd) = (
            self.len,
            self.cfg.heads,
            self.cfg.kv_heads,
            self.cfg.head_dim,
        );
        let g = h / kv;
        let q = self.node("q.groups", FloatOp::Reshape, vec![q], vec![len, kv, g, hd]);
        let ss = vec![kv, g, len, len];
        let s = self.node(
            "scores",
            FloatOp::Einsum {
                expr: "qcgd,kcd->cgqk".into(),
            },
            vec![q, k],
            ss.clone(),
        );
        let s = self.unary(UnaryFn::Scale(self.cfg.query_scale as f32), s, ss.clone());
        let m = self.mask(window);
        let fill = self.constant("mask.fill", vec![1], vec![f32::NEG_INFINITY]);
        let s = self.node("masked", FloatOp::Where, vec![m, s, fill], ss.clone());
        let p = self.node(
            "probs",
            FloatOp::Softmax {
                axis: 3,
                log: false,
            },
            vec![s],
            ss,
        );
        let o = self.node(
            "attn",
            FloatOp::Einsum {
                expr: "cgqk,kcd->qcgd".into(),
            },
            vec![p, v],
            vec![len, kv, g, hd],
        );
        self.node("merge", FloatOp::Reshape, vec![o], vec![len, h * hd])
    }

    /// `c·tanh(x/c)`.
    pub fn softcap(&mut self, x: TensorId, shape: Vec<usize>, c: f64) -> TensorId {
        let y = self.unary(UnaryFn::Scale((1.0 / c) as f32), x, shape.clone());
        let y = self.unary(UnaryFn::Tanh, y, shape.clone());
        self.unary(UnaryFn::Scale(c as f32), y, shape)
    }

    /// Gated MLP `down(act(gate(x)) ⊙ up(x))` (SwiGLU / GeGLU) with HF `Linear` weights.
    pub fn gated_mlp(&mut self, x: TensorId, prefix: &str, act: UnaryFn) -> Result<TensorId> {
        let (len, d, i) = (self.len, self.cfg.hidden, self.cfg.intermediate);
        let gate = self.linear(x, len, &format!("{prefix}.gate_proj.weight"), d, i, None)?;
        let up = self.linear(x, len, &format!("{prefix}.up_proj.weight"), d, i, None)?;
        let a = self.unary(act, gate, vec![len, i]);
        let hmid = self.binary(BinaryKind::Mul, a, up, vec![len, i]);
        self.linear(hmid, len, &format!("{prefix}.down_proj.weight"), i, d, None)
    }
}
