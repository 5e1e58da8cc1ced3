//! A small rewriting toolkit over MLIR's C API, for the Rust passes.
//!
//! melior's typed wrappers tie every handle to borrow lifetimes, which a
//! rewrite (create, insert, replace uses, erase) cannot satisfy; the passes
//! work on raw handles through this module instead, and only here.

use std::ffi::CString;

use mlir_sys as sys;
use sys::{MlirAttribute, MlirBlock, MlirContext, MlirLocation, MlirOperation, MlirRegion, MlirType, MlirValue};

/// A string handed to MLIR for the duration of one call.
pub fn sref(s: &str) -> sys::MlirStringRef {
    sys::MlirStringRef { data: s.as_ptr() as *const _, length: s.len() }
}

/// Reads an `MlirStringRef` handed to a callback.
pub fn string_of(s: sys::MlirStringRef) -> String {
    // An empty string may come with a null pointer, which a slice may not.
    if s.data.is_null() || s.length == 0 {
        return String::new();
    }
    // SAFETY: MLIR passes a valid (pointer, length) pair.
    unsafe { String::from_utf8_lossy(std::slice::from_raw_parts(s.data as *const u8, s.length)).into_owned() }
}

/// Builds IR in one context. All methods assume live handles from it.
#[derive(Clone, Copy)]
pub struct Builder {
    pub ctx: MlirContext,
}

impl Builder {
    pub fn of_op(op: MlirOperation) -> Self {
        // SAFETY: a live op.
        Builder { ctx: unsafe { sys::mlirOperationGetContext(op) } }
    }

    /// Parses an attribute written by the pass itself (never user text), so
    /// a failure is a bug in the pass.
    pub fn attr(&self, text: &str) -> MlirAttribute {
        // SAFETY: the text outlives the call.
        let a = unsafe { sys::mlirAttributeParseGet(self.ctx, sref(text)) };
        assert!(!a.ptr.is_null(), "internal: attribute '{text}' does not parse");
        a
    }

    pub fn ty(&self, text: &str) -> MlirType {
        // SAFETY: as above.
        let t = unsafe { sys::mlirTypeParseGet(self.ctx, sref(text)) };
        assert!(!t.ptr.is_null(), "internal: type '{text}' does not parse");
        t
    }

    pub fn index_type(&self) -> MlirType {
        // SAFETY: a live context.
        unsafe { sys::mlirIndexTypeGet(self.ctx) }
    }

    /// Creates a detached op.
    pub fn op(
        &self,
        name: &str,
        loc: MlirLocation,
        operands: &[MlirValue],
        results: &[MlirType],
        attributes: &[(&str, MlirAttribute)],
        regions: usize,
    ) -> MlirOperation {
        // SAFETY: every array outlives `mlirOperationCreate`, which copies.
        unsafe {
            let mut state = sys::mlirOperationStateGet(sref(name), loc);
            sys::mlirOperationStateAddOperands(&mut state, operands.len() as isize, operands.as_ptr());
            sys::mlirOperationStateAddResults(&mut state, results.len() as isize, results.as_ptr());
            let named: Vec<sys::MlirNamedAttribute> = attributes
                .iter()
                .map(|(n, a)| sys::mlirNamedAttributeGet(sys::mlirIdentifierGet(self.ctx, sref(n)), *a))
                .collect();
            sys::mlirOperationStateAddAttributes(&mut state, named.len() as isize, named.as_ptr());
            let owned: Vec<MlirRegion> = (0..regions).map(|_| sys::mlirRegionCreate()).collect();
            sys::mlirOperationStateAddOwnedRegions(&mut state, owned.len() as isize, owned.as_ptr());
            let op = sys::mlirOperationCreate(&mut state);
            assert!(!op.ptr.is_null(), "internal: could not create '{name}'");
            op
        }
    }

    /// `arith.constant` of `text` (e.g. `0.0 : f32`).
    pub fn constant(&self, loc: MlirLocation, text: &str, ty: MlirType) -> MlirOperation {
        self.op("arith.constant", loc, &[], &[ty], &[("value", self.attr(text))], 0)
    }

    /// `arith.constant v : index`, built without text.
    pub fn index_constant(&self, loc: MlirLocation, v: i64) -> MlirOperation {
        let index = self.index_type();
        self.op("arith.constant", loc, &[], &[index], &[("value", integer_attr(index, v))], 0)
    }

    /// `arith.constant` splat of `v` in the int or float vector (or
    /// scalar) type `ty`, built without text.
    pub fn splat_constant(&self, loc: MlirLocation, ty: MlirType, v: f64) -> MlirOperation {
        self.op("arith.constant", loc, &[], &[ty], &[("value", splat_attr(ty, v))], 0)
    }
}

pub fn result(op: MlirOperation, i: isize) -> MlirValue {
    // SAFETY: a live op with at least `i + 1` results.
    unsafe { sys::mlirOperationGetResult(op, i) }
}

pub fn operand(op: MlirOperation, i: isize) -> MlirValue {
    // SAFETY: a live op with at least `i + 1` operands.
    unsafe { sys::mlirOperationGetOperand(op, i) }
}

pub fn operands(op: MlirOperation) -> Vec<MlirValue> {
    // SAFETY: a live op.
    let n = unsafe { sys::mlirOperationGetNumOperands(op) };
    (0..n).map(|i| operand(op, i)).collect()
}

pub fn name(op: MlirOperation) -> String {
    // SAFETY: a live op.
    string_of(unsafe { sys::mlirIdentifierStr(sys::mlirOperationGetName(op)) })
}

pub fn location(op: MlirOperation) -> MlirLocation {
    // SAFETY: a live op.
    unsafe { sys::mlirOperationGetLocation(op) }
}

pub fn attribute(op: MlirOperation, name: &str) -> Option<MlirAttribute> {
    // SAFETY: a live op; the name outlives the call.
    let a = unsafe { sys::mlirOperationGetAttributeByName(op, sref(name)) };
    (!a.ptr.is_null()).then_some(a)
}

pub fn i64_array(attr: MlirAttribute) -> Vec<i64> {
    // SAFETY: the verifier guarantees a DenseI64ArrayAttr.
    unsafe { (0..sys::mlirDenseArrayGetNumElements(attr)).map(|i| sys::mlirDenseI64ArrayGetElement(attr, i)).collect() }
}

pub fn value_type(v: MlirValue) -> MlirType {
    // SAFETY: a live value.
    unsafe { sys::mlirValueGetType(v) }
}

pub fn print_type(t: MlirType) -> String {
    let mut out = String::new();
    unsafe extern "C" fn push(s: sys::MlirStringRef, data: *mut std::ffi::c_void) {
        // SAFETY: `data` is the `String` below.
        unsafe { (*(data as *mut String)).push_str(&string_of(s)) }
    }
    // SAFETY: `out` outlives the call.
    unsafe { sys::mlirTypePrint(t, Some(push), &mut out as *mut String as *mut _) };
    out
}

/// The shape and element type of a ranked, static shaped type.
pub fn shape(t: MlirType) -> (Vec<i64>, MlirType) {
    // SAFETY: callers pass ranked shaped types (the verifier checked).
    unsafe {
        let rank = sys::mlirShapedTypeGetRank(t);
        ((0..rank as isize).map(|i| sys::mlirShapedTypeGetDimSize(t, i)).collect(), sys::mlirShapedTypeGetElementType(t))
    }
}

pub fn is_float(t: MlirType) -> bool {
    // SAFETY: a live type.
    unsafe { sys::mlirTypeIsAFloat(t) }
}

pub fn region(op: MlirOperation, i: isize) -> MlirRegion {
    // SAFETY: a live op with at least `i + 1` regions.
    unsafe { sys::mlirOperationGetRegion(op, i) }
}

pub fn first_block(r: MlirRegion) -> MlirBlock {
    // SAFETY: a live region.
    unsafe { sys::mlirRegionGetFirstBlock(r) }
}

/// The strides of memref type `t` (rank >= 1), where they are static or
/// its layout can say them.
pub fn strides(t: MlirType) -> Option<Vec<i64>> {
    let (shape, _) = shape(t);
    if shape.is_empty() {
        return None;
    }
    let mut strides = vec![0i64; shape.len()];
    let mut offset = 0i64;
    // SAFETY: `strides` has one slot per dimension, as the call asks.
    let ok = unsafe { sys::mlirMemRefTypeGetStridesAndOffset(t, strides.as_mut_ptr(), &mut offset) };
    (ok.value != 0).then_some(strides)
}

/// The blocks of region `r`, in order.
pub fn blocks(r: MlirRegion) -> Vec<MlirBlock> {
    let mut out = Vec::new();
    let mut block = first_block(r);
    while !block.ptr.is_null() {
        out.push(block);
        // SAFETY: a live block of a live region.
        block = unsafe { sys::mlirBlockGetNextInRegion(block) };
    }
    out
}

pub fn new_block(args: &[MlirType], loc: MlirLocation) -> MlirBlock {
    let locs = vec![loc; args.len()];
    // SAFETY: arrays outlive the call.
    unsafe { sys::mlirBlockCreate(args.len() as isize, args.as_ptr(), locs.as_ptr()) }
}

pub fn block_argument(b: MlirBlock, i: isize) -> MlirValue {
    // SAFETY: a live block with at least `i + 1` arguments.
    unsafe { sys::mlirBlockGetArgument(b, i) }
}

pub fn add_block_argument(b: MlirBlock, t: MlirType, loc: MlirLocation) -> MlirValue {
    // SAFETY: a live block.
    unsafe { sys::mlirBlockAddArgument(b, t, loc) }
}

pub fn append_block(r: MlirRegion, b: MlirBlock) {
    // SAFETY: `b` is detached; ownership moves to `r`.
    unsafe { sys::mlirRegionAppendOwnedBlock(r, b) }
}

pub fn append(b: MlirBlock, op: MlirOperation) -> MlirOperation {
    // SAFETY: `op` is detached; ownership moves to `b`.
    unsafe { sys::mlirBlockAppendOwnedOperation(b, op) };
    op
}

/// Inserts detached `op` right before `anchor`.
pub fn insert_before(anchor: MlirOperation, op: MlirOperation) -> MlirOperation {
    // SAFETY: `anchor` is in a block; `op` is detached.
    unsafe { sys::mlirBlockInsertOwnedOperationBefore(sys::mlirOperationGetBlock(anchor), anchor, op) };
    op
}

/// Moves the blocks of `from` into `to` (which must be empty).
pub fn take_body(to: MlirRegion, from: MlirRegion) {
    // SAFETY: both regions are live.
    unsafe { sys::mlirRegionTakeBody(to, from) }
}

/// Replaces every use of `old`'s results with `new` and erases `old`.
pub fn replace_op(old: MlirOperation, new: &[MlirValue]) {
    for (i, v) in new.iter().enumerate() {
        // SAFETY: both values are live; `old` is erased last.
        unsafe { sys::mlirValueReplaceAllUsesOfWith(result(old, i as isize), *v) };
    }
    // SAFETY: no uses are left.
    unsafe { sys::mlirOperationDestroy(old) };
}

/// The ops directly in `b`, in order.
pub fn ops_in(b: MlirBlock) -> Vec<MlirOperation> {
    let mut out = Vec::new();
    // SAFETY: walking a live block.
    unsafe {
        let mut op = sys::mlirBlockGetFirstOperation(b);
        while !op.ptr.is_null() {
            out.push(op);
            op = sys::mlirOperationGetNextInBlock(op);
        }
    }
    out
}

/// The ops directly inside `op`: each region's blocks' ops, in order.
pub fn children(op: MlirOperation) -> Vec<MlirOperation> {
    let mut out = Vec::new();
    // SAFETY: walking a live op's regions, blocks and ops.
    unsafe {
        for i in 0..sys::mlirOperationGetNumRegions(op) {
            let mut block = sys::mlirRegionGetFirstBlock(sys::mlirOperationGetRegion(op, i));
            while !block.ptr.is_null() {
                out.extend(ops_in(block));
                block = sys::mlirBlockGetNextInRegion(block);
            }
        }
    }
    out
}

/// Every op nested in `root` (not `root` itself), pre-order (an op before
/// the ops in its regions, as MLIR's walk). Iterative, with a stack on the
/// heap: MLIR's own walk recurses once per nesting level, which overflows
/// the thread's stack on deeply nested input.
pub fn walk(root: MlirOperation) -> Vec<MlirOperation> {
    let mut out: Vec<MlirOperation> = Vec::new();
    // Ops still to visit, the next one on top.
    let mut pending: Vec<MlirOperation> = children(root);
    pending.reverse();
    while let Some(op) = pending.pop() {
        out.push(op);
        let start = pending.len();
        pending.extend(children(op));
        pending[start..].reverse();
    }
    out
}

/// The ops nested in `root` (not `root` itself) named one of `names`, in
/// pre-order. Passes that look for a few kinds of op use this rather than
/// [`walk`]: MLIR's own walk, comparing uniqued names, allocates nothing
/// per op (on a 100k-op module `walk` and `name` took a tenth of a second
/// per pass). Nesting is bounded by the parser's limit, so MLIR's
/// recursive walk is safe here.
pub fn find(root: MlirOperation, names: &[&str]) -> Vec<MlirOperation> {
    struct State {
        root: MlirOperation,
        names: Vec<sys::MlirIdentifier>,
        out: Vec<MlirOperation>,
    }
    unsafe extern "C" fn visit(op: MlirOperation, data: *mut std::ffi::c_void) -> sys::MlirWalkResult {
        // SAFETY: `data` is the State below; `op` is live during the walk.
        unsafe {
            let state = &mut *(data as *mut State);
            let name = sys::mlirOperationGetName(op);
            if op.ptr != state.root.ptr && state.names.iter().any(|n| sys::mlirIdentifierEqual(*n, name)) {
                state.out.push(op);
            }
        }
        sys::MlirWalkResult_MlirWalkResultAdvance
    }
    // SAFETY: identifiers are uniqued in the op's context.
    let ctx = unsafe { sys::mlirOperationGetContext(root) };
    let names = names.iter().map(|n| unsafe { sys::mlirIdentifierGet(ctx, sref(n)) }).collect();
    let mut state = State { root, names, out: Vec::new() };
    // SAFETY: `state` outlives the walk; the walk only records handles.
    unsafe {
        sys::mlirOperationWalk(root, Some(visit), &mut state as *mut State as *mut _, sys::MlirWalkOrder_MlirWalkPreOrder)
    };
    state.out
}

/// `memref.extract_strided_metadata` of `memref` (results: base, offset,
/// the sizes, the strides) and its aligned address as an `index`, built
/// before `anchor`.
pub fn strided_metadata(anchor: MlirOperation, memref: MlirValue) -> (MlirOperation, MlirValue) {
    let b = Builder::of_op(anchor);
    let loc = location(anchor);
    let index = b.index_type();
    let (dims, elem) = shape(value_type(memref));
    let mut types = vec![b.ty(&format!("memref<{}>", print_type(elem))), index];
    types.extend(std::iter::repeat_n(index, 2 * dims.len()));
    let meta = insert_before(anchor, b.op("memref.extract_strided_metadata", loc, &[memref], &types, &[], 0));
    let aligned = result(insert_before(anchor, b.op("memref.extract_aligned_pointer_as_index", loc, &[memref], &[index], &[], 0)), 0);
    (meta, aligned)
}

/// Where element `indices` of `memref` is, built before `anchor`: the
/// buffer's aligned address and the element's linear index (`offset +
/// sum(index * stride)`), both `index`; the byte address is `aligned +
/// linear * element size`. For the passes that reach memory below the
/// memref abstraction (float atomics, the run-time race checker).
pub fn element_position(anchor: MlirOperation, memref: MlirValue, indices: &[MlirValue]) -> (MlirValue, MlirValue) {
    let b = Builder::of_op(anchor);
    let loc = location(anchor);
    let index = b.index_type();
    let at = |op: MlirOperation| insert_before(anchor, op);
    let rank = indices.len();
    let (meta, aligned) = strided_metadata(anchor, memref);
    let mut linear = result(meta, 1);
    for (k, i) in indices.iter().enumerate() {
        let stride = result(meta, (2 + rank + k) as isize);
        let term = result(at(b.op("arith.muli", loc, &[*i, stride], &[index], &[], 0)), 0);
        linear = result(at(b.op("arith.addi", loc, &[linear, term], &[index], &[], 0)), 0);
    }
    (aligned, linear)
}

/// Emits an error at `op`.
pub fn emit_error(op: MlirOperation, message: &str) {
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: a live op; the message outlives the call.
    unsafe { sys::mlirEmitError(location(op), message.as_ptr()) }
}

pub fn print_attr(a: MlirAttribute) -> String {
    let mut out = String::new();
    unsafe extern "C" fn push(s: sys::MlirStringRef, data: *mut std::ffi::c_void) {
        // SAFETY: `data` is the `String` below.
        unsafe { (*(data as *mut String)).push_str(&string_of(s)) }
    }
    // SAFETY: `out` outlives the call.
    unsafe { sys::mlirAttributePrint(a, Some(push), &mut out as *mut String as *mut _) };
    out
}

/// Every attribute of `op` (inherent and discardable), by name.
pub fn attributes(op: MlirOperation) -> Vec<(String, MlirAttribute)> {
    // SAFETY: reading a live op's attribute list.
    unsafe {
        (0..sys::mlirOperationGetNumAttributes(op))
            .map(|i| {
                let named = sys::mlirOperationGetAttribute(op, i);
                (string_of(sys::mlirIdentifierStr(named.name)), named.attribute)
            })
            .collect()
    }
}

/// Sets (or replaces) the attribute `name` of `op`.
pub fn set_attribute(op: MlirOperation, name: &str, attr: MlirAttribute) {
    // SAFETY: a live op; MLIR copies the name.
    unsafe { sys::mlirOperationSetAttributeByName(op, sref(name), attr) }
}

/// Moves the lower bound of a one-dimensional affine loop with constant
/// bounds to `lower` (the vector code before it took the first iterations).
pub fn narrow_lower_bound(lp: MlirOperation, lower: i64) {
    let name = if self::name(lp) == "affine.parallel" { "lowerBoundsMap" } else { "lowerBoundMap" };
    // SAFETY: a live op's context; MLIR uniques the map and attribute.
    let attr = unsafe { sys::mlirAffineMapAttrGet(sys::mlirAffineMapConstantGet(sys::mlirOperationGetContext(lp), lower)) };
    set_attribute(lp, name, attr);
}

/// The value of the affine-map attribute `name` of `op` when it is a single
/// constant (`affine_map<() -> (37)>`, an affine loop's constant bound).
pub fn constant_map(op: MlirOperation, name: &str) -> Option<i64> {
    let attr = attribute(op, name)?;
    // SAFETY: attribute and map queries on live handles.
    unsafe {
        if !sys::mlirAttributeIsAAffineMap(attr) {
            return None;
        }
        let map = sys::mlirAffineMapAttrGetValue(attr);
        sys::mlirAffineMapIsSingleConstant(map).then(|| sys::mlirAffineMapGetSingleConstantResult(map))
    }
}

/// The integer attribute `name` of `op` (`affine.for`'s `step`), or the one
/// element of an integer array attribute (`affine.parallel`'s `steps`).
pub fn int_attr(op: MlirOperation, name: &str) -> Option<i64> {
    let attr = attribute(op, name)?;
    // SAFETY: attribute queries on live handles.
    unsafe {
        let attr = if sys::mlirAttributeIsAArray(attr) {
            if sys::mlirArrayAttrGetNumElements(attr) != 1 {
                return None;
            }
            sys::mlirArrayAttrGetElement(attr, 0)
        } else {
            attr
        };
        sys::mlirAttributeIsAInteger(attr).then(|| sys::mlirIntegerAttrGetValueInt(attr))
    }
}

pub fn parent(op: MlirOperation) -> MlirOperation {
    // SAFETY: a live op (null for a top-level one).
    unsafe { sys::mlirOperationGetParentOperation(op) }
}

/// The nearest op above `op` (not `op` itself) named `name`.
pub fn enclosing(op: MlirOperation, name: &str) -> Option<MlirOperation> {
    let mut p = parent(op);
    while !p.ptr.is_null() {
        if self::name(p) == name {
            return Some(p);
        }
        p = parent(p);
    }
    None
}

/// `op`'s symbol name (its `sym_name`), if it has one.
pub fn symbol_name(op: MlirOperation) -> Option<String> {
    // SAFETY: sym_name is a string attribute.
    attribute(op, "sym_name").map(|a| string_of(unsafe { sys::mlirStringAttrGetValue(a) }))
}

/// Whether an op in the body of the symbol table `table` (a module) is
/// named `name`.
pub fn defines_symbol(table: MlirOperation, name: &str) -> bool {
    ops_in(first_block(region(table, 0))).into_iter().any(|op| symbol_name(op).as_deref() == Some(name))
}

/// The op of `block` that is `op` or contains it.
pub fn ancestor_in(mut op: MlirOperation, block: MlirBlock) -> Option<MlirOperation> {
    while !op.ptr.is_null() {
        // SAFETY: a live op.
        if unsafe { sys::mlirOperationGetBlock(op) }.ptr == block.ptr {
            return Some(op);
        }
        op = parent(op);
    }
    None
}

/// Whether `op` is `ancestor` or nested in it.
pub fn is_within(mut op: MlirOperation, ancestor: MlirOperation) -> bool {
    while !op.ptr.is_null() {
        if op.ptr == ancestor.ptr {
            return true;
        }
        op = parent(op);
    }
    false
}

/// The op a value is defined by, or the op owning the block it is an
/// argument of.
pub fn defining_scope(v: MlirValue) -> MlirOperation {
    // SAFETY: a live value.
    unsafe {
        if sys::mlirValueIsAOpResult(v) {
            sys::mlirOpResultGetOwner(v)
        } else {
            sys::mlirBlockGetParentOperation(sys::mlirBlockArgumentGetOwner(v))
        }
    }
}

/// Whether `v` is defined inside `scope` (by an op in it, or as an
/// argument of one of its blocks).
pub fn defined_inside(v: MlirValue, scope: MlirOperation) -> bool {
    is_within(defining_scope(v), scope)
}

/// The op using `v`, if `v` has exactly one use.
pub fn single_user(v: MlirValue) -> Option<MlirOperation> {
    // SAFETY: walking a live value's use list.
    unsafe {
        let first = sys::mlirValueGetFirstUse(v);
        if first.ptr.is_null() || !sys::mlirOpOperandGetNextUse(first).ptr.is_null() {
            return None;
        }
        Some(sys::mlirOpOperandGetOwner(first))
    }
}

/// `vector<shape x elem>`, built through the C API (no text round trip).
pub fn vector_type(shape: &[i64], elem: MlirType) -> MlirType {
    // SAFETY: a live element type; the shape outlives the call.
    unsafe { sys::mlirVectorTypeGet(shape.len() as isize, shape.as_ptr(), elem) }
}

/// `memref<shape x elem>` with the identity layout, in the default space.
pub fn memref_type(shape: &[i64], elem: MlirType) -> MlirType {
    // SAFETY: as above; a null memory space is the default one.
    unsafe { sys::mlirMemRefTypeContiguousGet(elem, shape.len() as isize, shape.as_ptr(), sys::MlirAttribute { ptr: std::ptr::null() }) }
}

/// `memref.prefetch %operands[0][%operands[1..]], read, locality<locality>,
/// data`: a read of data into the cache level `locality` names (3: all of
/// them, 2: L2 and out).
pub fn prefetch(b: &Builder, loc: sys::MlirLocation, operands: &[MlirValue], locality: i32) -> MlirOperation {
    let attrs = [
        ("isWrite", b.attr("false")),
        ("localityHint", b.attr(&format!("{locality} : i32"))),
        ("isDataCache", b.attr("true")),
    ];
    b.op("memref.prefetch", loc, operands, &[], &attrs, 0)
}

/// Whether `op` is a streaming (`nontemporal`) `vector.store`.
pub fn is_streaming_store(op: MlirOperation) -> bool {
    // SAFETY: a bool attribute query on a live op.
    name(op) == "vector.store" && attribute(op, "nontemporal").is_some_and(|a| unsafe { sys::mlirAttributeIsABool(a) && sys::mlirBoolAttrGetValue(a) })
}

/// `llvm.fence seq_cst` (x86 `mfence`): orders streaming stores, which are
/// weakly ordered, before everything after it.
pub fn full_fence(b: &Builder, loc: MlirLocation) -> MlirOperation {
    /// LLVM's `AtomicOrdering::SequentiallyConsistent`.
    const SEQ_CST: i64 = 7;
    // SAFETY: a live context.
    let i64t = unsafe { sys::mlirIntegerTypeGet(b.ctx, 64) };
    b.op("llvm.fence", loc, &[], &[], &[("ordering", integer_attr(i64t, SEQ_CST))], 0)
}

/// A `DenseI64ArrayAttr` (`array<i64: ...>`), built through the C API.
pub fn i64_array_attr(b: &Builder, values: &[i64]) -> MlirAttribute {
    // SAFETY: a live context; the values outlive the call.
    unsafe { sys::mlirDenseI64ArrayGet(b.ctx, values.len() as isize, values.as_ptr()) }
}

/// An `ArrayAttr` of `elements`, built through the C API.
pub fn array_attr(b: &Builder, elements: &[MlirAttribute]) -> MlirAttribute {
    // SAFETY: live attributes; the slice outlives the call, which copies.
    unsafe { sys::mlirArrayAttrGet(b.ctx, elements.len() as isize, elements.as_ptr()) }
}

/// A `DenseI32ArrayAttr` (`array<i32: ...>`), built through the C API.
pub fn i32_array_attr(b: &Builder, values: &[i32]) -> MlirAttribute {
    // SAFETY: as above.
    unsafe { sys::mlirDenseI32ArrayGet(b.ctx, values.len() as isize, values.as_ptr()) }
}

/// An `IntegerAttr` of type `ty` (an integer or index type).
pub fn integer_attr(ty: MlirType, value: i64) -> MlirAttribute {
    // SAFETY: a live integer-like type.
    unsafe { sys::mlirIntegerAttrGet(ty, value) }
}

/// The splat constant `value` of the int or float vector (or scalar) type
/// `ty`, as an attribute for `arith.constant`.
pub fn splat_attr(ty: MlirType, value: f64) -> MlirAttribute {
    // SAFETY: live types; `ty` is a vector of ints or floats, or a scalar.
    unsafe {
        let (is_vector, elem) =
            if sys::mlirTypeIsAVector(ty) { (true, sys::mlirShapedTypeGetElementType(ty)) } else { (false, ty) };
        let scalar = if sys::mlirTypeIsAInteger(elem) || sys::mlirTypeIsAIndex(elem) {
            sys::mlirIntegerAttrGet(elem, value as i64)
        } else {
            sys::mlirFloatAttrDoubleGet(sys::mlirTypeGetContext(elem), elem, value)
        };
        if is_vector {
            sys::mlirDenseElementsAttrSplatGet(ty, scalar)
        } else {
            scalar
        }
    }
}

/// The dimension positions an affine map's results name, or `None` when a
/// result is not a plain dimension (a projected permutation's are).
pub fn map_dims(map: sys::MlirAffineMap) -> Option<Vec<usize>> {
    // SAFETY: a live affine map.
    unsafe {
        (0..sys::mlirAffineMapGetNumResults(map))
            .map(|i| {
                let e = sys::mlirAffineMapGetResult(map, i);
                sys::mlirAffineExprIsADim(e).then(|| sys::mlirAffineDimExprGetPosition(e) as usize)
            })
            .collect()
    }
}

/// For each result of an affine map without symbols, the dimension it
/// names, or `None` for a constant; `None` when a result is anything else.
pub fn map_dims_or_constants(map: sys::MlirAffineMap) -> Option<Vec<Option<usize>>> {
    // SAFETY: a live affine map.
    unsafe {
        if sys::mlirAffineMapGetNumSymbols(map) != 0 {
            return None;
        }
        (0..sys::mlirAffineMapGetNumResults(map))
            .map(|i| {
                let e = sys::mlirAffineMapGetResult(map, i);
                if sys::mlirAffineExprIsADim(e) {
                    Some(Some(sys::mlirAffineDimExprGetPosition(e) as usize))
                } else {
                    sys::mlirAffineExprIsAConstant(e).then_some(None)
                }
            })
            .collect()
    }
}

/// Each use of `v`: the op and the operand's position in it.
pub fn uses(v: MlirValue) -> Vec<(MlirOperation, usize)> {
    let mut out = Vec::new();
    // SAFETY: walking a live value's use list.
    unsafe {
        let mut u = sys::mlirValueGetFirstUse(v);
        while !u.ptr.is_null() {
            out.push((sys::mlirOpOperandGetOwner(u), sys::mlirOpOperandGetOperandNumber(u) as usize));
            u = sys::mlirOpOperandGetNextUse(u);
        }
    }
    out
}

/// Clones `ops` (one result each, no regions) to the end of `block`, their
/// operands looked up in `map` (values not in it stay), and records each
/// result's clone in `map`.
pub fn clone_into(block: MlirBlock, ops: &[MlirOperation], map: &mut std::collections::HashMap<usize, MlirValue>) {
    for op in ops {
        // SAFETY: a live op without regions; the clone is detached until
        // appended, its operands rewired first.
        let new = unsafe { sys::mlirOperationClone(*op) };
        for (i, v) in operands(*op).iter().enumerate() {
            if let Some(n) = map.get(&(v.ptr as usize)) {
                // SAFETY: `i` is an operand position of the clone.
                unsafe { sys::mlirOperationSetOperand(new, i as isize, *n) };
            }
        }
        append(block, new);
        map.insert(result(*op, 0).ptr as usize, result(new, 0));
    }
}

/// The ops that use `v`, once per use.
pub fn users(v: MlirValue) -> Vec<MlirOperation> {
    let mut out = Vec::new();
    // SAFETY: walking a live value's use list.
    unsafe {
        let mut u = sys::mlirValueGetFirstUse(v);
        while !u.ptr.is_null() {
            out.push(sys::mlirOpOperandGetOwner(u));
            u = sys::mlirOpOperandGetNextUse(u);
        }
    }
    out
}

/// Whether the memref type `t` has a static shape and the identity layout.
pub fn is_plain_memref(t: MlirType) -> bool {
    // SAFETY: live type and attribute queries.
    unsafe {
        sys::mlirTypeIsAMemRef(t) && sys::mlirShapedTypeHasStaticShape(t) && {
            let layout = sys::mlirMemRefTypeGetLayout(t);
            sys::mlirAttributeIsAAffineMap(layout) && sys::mlirAffineMapIsIdentity(sys::mlirAffineMapAttrGetValue(layout))
        }
    }
}

/// Rewrites every `affine.load`/`affine.store` under `root` whose map picks
/// dimensions and constants (`%t[0, %j]`, what loop fusion leaves on a
/// one-row temporary) into the identity map over explicit index operands,
/// the constants as `arith.constant`s at the start of the function (one
/// per value, so equal indices stay equal values). Passes that read an
/// access's indices from its operands then see every one of them. Maps
/// with symbols or compound expressions are left as they are.
pub fn explicit_affine_indices(root: MlirOperation) {
    let mut constants: std::collections::HashMap<(usize, i64), MlirValue> = std::collections::HashMap::new();
    for op in find(root, &["affine.load", "affine.store"]) {
        let Some(attr) = attribute(op, "map") else { continue };
        let first = if name(op) == "affine.load" { 1 } else { 2 };
        let ops = operands(op);
        // SAFETY: affine.load/store's `map` is an AffineMapAttr; the
        // expressions are read and the identity built through the C API.
        unsafe {
            let map = sys::mlirAffineMapAttrGetValue(attr);
            if sys::mlirAffineMapIsIdentity(map) || sys::mlirAffineMapGetNumSymbols(map) != 0 {
                continue;
            }
            let Some(func) = enclosing(op, "func.func") else { continue };
            let results = sys::mlirAffineMapGetNumResults(map);
            let mut indices = Vec::new();
            for r in 0..results {
                let e = sys::mlirAffineMapGetResult(map, r);
                if sys::mlirAffineExprIsADim(e) {
                    indices.push(Some(ops[first + sys::mlirAffineDimExprGetPosition(e) as usize]));
                } else if sys::mlirAffineExprIsAConstant(e) {
                    let v = sys::mlirAffineConstantExprGetValue(e);
                    let entry = first_block(region(func, 0));
                    let c = *constants.entry((func.ptr as usize, v)).or_insert_with(|| {
                        let b = Builder::of_op(op);
                        let c = b.index_constant(location(op), v);
                        sys::mlirBlockInsertOwnedOperation(entry, 0, c);
                        result(c, 0)
                    });
                    indices.push(Some(c));
                } else {
                    indices.push(None);
                }
            }
            let Some(indices) = indices.into_iter().collect::<Option<Vec<MlirValue>>>() else { continue };
            let mut new_operands = ops[..first].to_vec();
            new_operands.extend(indices);
            sys::mlirOperationSetOperands(op, new_operands.len() as isize, new_operands.as_ptr());
            let identity = sys::mlirAffineMapMultiDimIdentityGet(sys::mlirOperationGetContext(op), results);
            set_attribute(op, "map", sys::mlirAffineMapAttrGet(identity));
        }
    }
}

/// `arith.cmpi` predicates, numbered as the op's `predicate` attribute.
pub mod cmpi {
    pub const EQ: i64 = 0;
    pub const SLT: i64 = 2;
    pub const SGE: i64 = 5;
    pub const ULE: i64 = 7;
}

/// `arith.cmpf` predicates, numbered as the op's `predicate` attribute.
pub mod cmpf {
    pub const OGT: i64 = 2;
    pub const OGE: i64 = 3;
    pub const OLT: i64 = 4;
    /// Ordered and unequal.
    pub const ONE: i64 = 6;
}
